"""Demo integrity records: how the collective project chose its appraisal firm, and internal-audit findings in
each state (to rectify, rectified and waiting for the reviewer, closed) — made through the services."""
from __future__ import annotations

import io
from datetime import datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Household, HumanTask, Project, User
from services import integrity, internal_audit
from services.context import Actor
from services.demo_data import FIRMS, SCAN

# (step, severity, what the reviewer found, what the step's role answered (None: not yet), closed)
FINDINGS = [
    ("survey", "high", "入户调查表缺被征收人签字，附件照片与登记面积不符。", None, False),
    ("appraisal", "medium", "评估报告未附估价师执业证书复印件。", "已补充估价师执业证书复印件并重新归档。", False),
    ("calculation", "low", "过渡费计算月数未注明起算日期。", "已在核算说明中注明过渡费自腾空交房之日起算。", True),
]


def seed(users: dict[str, User], project: Project, now: datetime, upload_dir: str) -> None:
    """The firm selection of the project's first batch and three findings on cases that passed the step."""
    supervisor, reviewer = Actor(users["supervisor"]), Actor(users["reviewer"])
    integrity.record_selection(supervisor, project.id, {
        "batch_id": project.batches[0].id, "method": "negotiation", "held_on": (now - timedelta(days=40)).date(),
        "candidates": FIRMS, "chosen_firm": FIRMS[0],
        "notes": "被征收人代表协商选定，街道纪工委全程监督。"}, ("协商选定会议纪要.png", io.BytesIO(SCAN)),
        upload_dir=upload_dir, max_bytes=5 * 1024 * 1024, now=now - timedelta(days=40))
    for position, (bpmn_id, severity, text, answer, closed) in enumerate(FINDINGS):
        household = _passed(project, bpmn_id, position)
        if household is None:
            continue
        opened = now - timedelta(days=6 - position)
        finding = internal_audit.open_finding(reviewer, {"household_id": household, "bpmn_id": bpmn_id,
                                                         "severity": severity, "text": text, "working_days": 5},
                                              now=opened)
        if answer is None:
            continue
        internal_audit.rectify(Actor(users[finding.role]), finding.id, {"text": answer}, now=opened + timedelta(days=2))
        if closed:
            internal_audit.close(reviewer, finding.id, now=opened + timedelta(days=3))


def _passed(project: Project, bpmn_id: str, skip: int) -> int | None:
    """A household of the project whose step was completed (the skip-th one, so each finding has its own)."""
    found = db.session.scalars(select(Household.id).join(HumanTask, HumanTask.household_id == Household.id)
                               .where(Household.project_id == project.id, HumanTask.bpmn_id == bpmn_id,
                                      HumanTask.status == "completed").order_by(Household.id).distinct())
    ids = list(found)
    return ids[skip] if len(ids) > skip else None
