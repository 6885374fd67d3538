"""Turning models into the API's JSON objects."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from app.models import ApiToken, Household, HumanTask, ModuleRecord, Notification, ProcessInstance
from services import history, instances, notifications, personal, tokens


def task(row: HumanTask) -> dict[str, Any]:
    """The API's Task object."""
    return {
        "id": row.id,
        "name": row.name,
        "bpmn_id": row.bpmn_id,
        "role": row.role,
        "instance_id": row.instance_id,
        "household_id": row.household_id,
        "household_code": row.household.code,
        "project_id": row.project_id,
        "status": row.status,
        "assignee": row.assignee.username if row.assignee is not None else None,
        "created_at": row.created_at,
        "due_at": row.due_at,
        "returned": row.returned,
        "return_reason": row.return_reason,
    }


def instance_summary(instance: ProcessInstance) -> dict[str, Any]:
    """An instance without its tasks and history."""
    return {
        "id": instance.id,
        "status": instance.status,
        "definition": {"key": instance.definition.key, "version": instance.definition.version},
        "household_id": instance.household_id,
        "project_id": instance.project_id,
        "created_at": instance.created_at,
        "last_progress_at": instance.last_progress_at,
        "completed_at": instance.completed_at,
        "error_message": instance.error_message,
    }


def module(record: ModuleRecord, updated_by: str | None) -> dict[str, Any]:
    """A module's data with its version, personal data masked (a full view is `GET …/modules/<m>?reveal=1`)."""
    return {"module": record.module, "data": personal.mask_personal(record.data), "version": record.version,
            "updated_at": record.updated_at, "updated_by": updated_by}


def household(row: Household) -> dict[str, Any]:
    """The API's Household object (its phone masked, as everywhere outside an audited full view)."""
    out = {k: getattr(row, k) for k in ("id", "project_id", "work_group_id", "code", "kind", "section",
                                         "address", "head_name", "phone", "land_nature", "notes", "created_at")}
    out["phone"] = personal.mask_phone(out["phone"]) or None
    return out


def notification(row: Notification) -> dict[str, Any]:
    """A notification, its message in the reader's language."""
    return {"id": row.id, "kind": row.kind, "message": notifications.render(row.kind, row.params)
            if row.params else row.message, "task_id": row.task_id, "instance_id": row.instance_id,
            "created_at": row.created_at, "read": row.read_at is not None}


def instance_full(inst: ProcessInstance) -> dict[str, Any]:
    """The Instance object with its open steps and whole history."""
    return instances_full([inst])[0]


def instances_full(rows: list[ProcessInstance]) -> list[dict[str, Any]]:
    """Instance objects with their open steps and whole histories: two statements however many."""
    ids = [r.id for r in rows]
    current, events = instances.open_steps_of(ids), history.entries_of(ids)
    return [{"id": r.id, "status": r.status, "definition": {"key": r.definition.key, "version": r.definition.version},
             "household_id": r.household_id, "current_tasks": current[r.id], "history": events[r.id]}
            for r in rows]


def token(row: ApiToken, now: datetime, current: ApiToken | None = None) -> dict[str, Any]:
    """An API token as its owner sees it (never the token itself, which is not stored)."""
    return {
        "id": row.id,
        "name": row.name,
        "status": tokens.status(row, now),
        "current": current is not None and current.id == row.id,
        "created_at": row.created_at,
        "created_ip": row.created_ip,
        "expires_at": row.expires_at,
        "last_used_at": row.last_used_at,
        "revoked_at": row.revoked_at,
    }
