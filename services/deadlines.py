"""Due times of open steps: each step's duration comes from its BPMN 'due' property."""
from __future__ import annotations

from datetime import datetime

from services import durations
from services.engine import UserTaskInfo


def due_at(info: UserTaskInfo | None, project_id: int, now: datetime) -> datetime | None:
    """When a step opened now falls due; None when it has no valid due duration."""
    if info is None or not info.due:
        return None
    try:
        return now + durations.to_timedelta(info.due, now)
    except durations.DurationError:
        return None
