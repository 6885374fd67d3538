"""Separation of duties (分工制衡): who may not complete a step because of what they did earlier in the same case.

The office learnt it the hard way: one person holding accountant and calculation auditor computed a case and
approved their own calculation. The rules are declared once (RULES), are on for every project by default, and an
administrator may switch one off for a project with a written reason (Project.duty_rules_off). They are checked
where a step is completed (services.runtime) and where a payment is recorded (the payment module's save), and the
step page tells the user beforehand (refusal()).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, validate
from marshmallow import fields as f
from sqlalchemy import and_, select

from app.extensions import db
from app.models import HumanTask, Project, User
from services import audit
from services.access import require_role
from services.context import Actor
from services.errors import Forbidden, InvalidInput, NotFound
from services.forms.registry import flatten_messages, schema_instance
from services.problems import N_, CodedSchema, name_param, problem
from services.problems import register as register_problems
from services.tx import transaction

register_problems({
    "duty_separation": N_("Separation of duties: %(duty)s"),
    "duty_rule_unknown": N_("unknown separation-of-duties rule"),
    "duty_reason": N_("Give the reason for switching the rule off (at least %(min)s characters)."),
    "duty_rules_invalid": N_("the rule change is not valid"),
})

SIGNATURES = ("sign_handler", "sign_group_leader", "sign_village_cadre", "sign_reviewer")
REASON_MIN = 10
REASON_MAX = 1000

# who completed what, latest last: (bpmn_id, user id, completed_at, row id)
Done = tuple[str, int | None, datetime, int]


def _latest(done: list[Done], bpmn_id: str) -> Done | None:
    rows = [d for d in done if d[0] == bpmn_id]
    return max(rows, key=lambda d: (d[2], d[3])) if rows else None


def _by(done: list[Done], bpmn_id: str, user_id: int) -> bool:
    """Whether the latest completion of that step is the user's."""
    latest = _latest(done, bpmn_id)
    return latest is not None and latest[1] == user_id


def _signed_this_round(done: list[Done], user_id: int) -> bool:
    """Whether the user gave one of the signatures since the agreement was last drafted."""
    draft = _latest(done, "agreement_draft")
    start = (draft[2], draft[3]) if draft else None
    return any(d[0] in SIGNATURES and d[1] == user_id and (start is None or (d[2], d[3]) > start) for d in done)


@dataclass(frozen=True)
class DutyRule:
    """One rule: the steps it governs, the earlier completions it reads, and its words."""

    code: str
    title: Any
    sentence: Any  # the rule, as the administration page states it
    refusal: Any  # what the person it refuses reads
    steps: frozenset[str]
    reads: frozenset[str]
    breaks: Callable[[list[Done], int], bool]


RULES: tuple[DutyRule, ...] = (
    DutyRule("audit_not_calculator", _l("Calculation and its audit by different people"),
             _l("The calculation auditor is not the person who made the calculation."),
             _l("You made this case's calculation; another calculation auditor must audit it."),
             frozenset({"calc_audit"}), frozenset({"calculation"}),
             lambda done, uid: _by(done, "calculation", uid)),
    DutyRule("policy_not_calculation", _l("Policy review independent of the calculation"),
             _l("The policy reviewer did not make the calculation or its audit."),
             _l("You made this case's calculation or its audit; another policy reviewer must review it."),
             frozenset({"policy_review"}), frozenset({"calculation", "calc_audit"}),
             lambda done, uid: _by(done, "calculation", uid) or _by(done, "calc_audit", uid)),
    DutyRule("four_signers", _l("Four signatures by four people"),
             _l("The four signatures of an agreement are given by four different people."),
             _l("You have already signed this agreement; each of the four signatures must be given by a "
                "different person."),
             frozenset(SIGNATURES), frozenset({*SIGNATURES, "agreement_draft"}), _signed_this_round),
    DutyRule("payment_not_drafter", _l("Payment recorded by someone other than the drafter"),
             _l("The person recording a payment did not draft the agreement."),
             _l("You drafted this case's agreement; another finance officer must record its payments."),
             frozenset({"payment"}), frozenset({"agreement_draft"}),
             lambda done, uid: _by(done, "agreement_draft", uid)),
)
BY_CODE = {r.code: r for r in RULES}
GOVERNED = frozenset().union(*(r.steps for r in RULES))


def _refusal_text(code: str, locale: str) -> str:
    """The refusal of a rule in the locale ("en" for the API's wording)."""
    rule = BY_CODE.get(code)
    if rule is None:
        return str(code)
    if locale.startswith("en"):
        with force_locale("en"):
            return str(rule.refusal)
    return str(rule.refusal)


name_param("duty", _refusal_text)


def _broken(user_id: int | None, row: HumanTask) -> DutyRule | None:
    """The first rule (on in the step's project) that refuses this user completing this step: one statement."""
    rules = [r for r in RULES if row.bpmn_id in r.steps]
    if not rules or user_id is None:
        return None
    reads = sorted(frozenset().union(*(r.reads for r in rules)))
    found = db.session.execute(
        select(Project.duty_rules_off, HumanTask.bpmn_id, HumanTask.completed_by_id, HumanTask.completed_at,
               HumanTask.id)
        .select_from(Project)
        .outerjoin(HumanTask, and_(HumanTask.instance_id == row.instance_id, HumanTask.status == "completed",
                                   HumanTask.bpmn_id.in_(reads), HumanTask.id != row.id))
        .where(Project.id == row.project_id)
    ).all()
    if not found:
        return None
    off = found[0][0] or {}
    done: list[Done] = [(b, u, at, i) for _, b, u, at, i in found if b is not None]
    return next((r for r in rules if r.code not in off and r.breaks(done, user_id)), None)


def refusal(user: User, row: HumanTask) -> Any:
    """What refuses this user completing this open step, as a Problem to show beforehand; None when nothing does."""
    if row.status != "ready" or row.role not in user.role_codes:
        return None
    rule = _broken(user.id, row)
    return problem("duty_separation", duty=rule.code, step=row.bpmn_id) if rule else None


def check(actor: Actor, row: HumanTask) -> None:
    """Refuse (Forbidden, code duty_separation) a completion or payment that a rule of the project forbids."""
    rule = _broken(actor.id, row)
    if rule is not None:
        raise Forbidden(problem("duty_separation", duty=rule.code, step=row.bpmn_id), code="duty_separation")


# administration

@dataclass(frozen=True)
class RuleState:
    """A rule as it stands in a project: on, or off with who switched it off, when and why."""

    code: str
    title: str
    sentence: str
    on: bool
    reason: str | None = None
    by: str | None = None
    by_name: str | None = None
    at: datetime | None = None


def _states(project: Project) -> list[RuleState]:
    off = project.duty_rules_off or {}
    out = []
    for rule in RULES:
        entry = off.get(rule.code)
        if entry is None:
            out.append(RuleState(rule.code, str(rule.title), str(rule.sentence), True))
            continue
        at = entry.get("at")
        out.append(RuleState(rule.code, str(rule.title), str(rule.sentence), False, entry.get("reason"),
                             entry.get("by"), entry.get("by_name") or entry.get("by"),
                             datetime.fromisoformat(at) if isinstance(at, str) else None))
    return out


def _project(actor: Actor, project_id: int, *, lock: bool = False) -> Project:
    require_role(actor.user, "admin")
    possible = isinstance(project_id, int) and not isinstance(project_id, bool) and project_id > 0
    project = db.session.get(Project, project_id, with_for_update=lock) if possible else None
    if project is None:
        raise NotFound(problem("project_not_found"))
    return project


def rule_states(actor: Actor, project_id: int) -> tuple[Project, list[RuleState]]:
    """A project's rules with their state (administrators only)."""
    project = _project(actor, project_id)
    return project, _states(project)


class RuleChange(CodedSchema):
    """Switching one rule of a project on or off; off needs a written reason."""

    rule = f.String(required=True, validate=validate.OneOf([r.code for r in RULES]),
                    metadata={"description": "the rule's code"})
    on = f.Boolean(required=True, metadata={"description": "true switches the rule on, false off"})
    reason = f.String(load_default=None, allow_none=True, validate=validate.Length(max=REASON_MAX),
                      metadata={"description": f"why it is switched off (at least {REASON_MIN} characters); "
                                               "not needed to switch it on"})


class DutyRulesUpdate(CodedSchema):
    """The rules to switch, each once."""

    rules = f.List(f.Nested(RuleChange), required=True, validate=validate.Length(min=1, max=len(RULES)))


def _changes(data: Any) -> list[dict[str, Any]]:
    """The validated changes, or InvalidInput naming the field (rules.0.reason, …)."""
    if not isinstance(data, dict):
        raise InvalidInput(problem("body_not_object"), {"body": [problem("not_object")]})
    try:
        changes = schema_instance(DutyRulesUpdate).load(data)["rules"]
    except ValidationError as exc:
        raise InvalidInput(problem("duty_rules_invalid"), flatten_messages(exc.messages)) from None
    fields: dict[str, list[str]] = {}
    seen: set[str] = set()
    for index, change in enumerate(changes):
        if change["rule"] in seen:
            fields[f"rules.{index}.rule"] = [problem("duty_rule_unknown")]
        seen.add(change["rule"])
        reason = (change.get("reason") or "").strip()
        if not change["on"] and len(reason) < REASON_MIN:
            fields[f"rules.{index}.reason"] = [problem("duty_reason", min=REASON_MIN)]
        change["reason"] = reason or None
    if fields:
        raise InvalidInput(problem("duty_rules_invalid"), fields)
    return changes


def set_rules(actor: Actor, project_id: int, data: Any, *, now: datetime) -> tuple[Project, list[RuleState]]:
    """Switch rules of a project on or off (administrators; off with a reason); each change is audited."""
    with transaction():
        project = _project(actor, project_id, lock=True)
        changes = _changes(data)
        off = dict(project.duty_rules_off or {})
        for change in changes:
            code, was = change["rule"], off.get(change["rule"])
            if change["on"] and was is not None:
                del off[code]
                audit.record(actor, "duty_rule.on", "project", project.id,
                             before={"reason": was.get("reason")}, after={"duty_rule": code}, at=now)
            elif not change["on"]:
                off[code] = {"reason": change["reason"], "by": actor.username,
                             "by_name": actor.user.display_name if actor.user else None,
                             "at": now.replace(microsecond=0).isoformat()}
                audit.record(actor, "duty_rule.off", "project", project.id,
                             before={"reason": was.get("reason")} if was else None,
                             after={"duty_rule": code, "reason": change["reason"]}, at=now)
        project.duty_rules_off = off
    return project, _states(project)


def rule_title(code: str) -> str:
    """A rule's short name (for the audit trail); the code itself when unknown."""
    rule = BY_CODE.get(code)
    return str(rule.title) if rule else code
