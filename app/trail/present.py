"""The audit trail in the office's words: actions as phrases, households by code and name, steps and people by
name, details as a before → after list with the fields' titles — and personal data masked."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import fields as mf

from app import labels
from app.models import AuditLog
from app.timeparts import duration_text
from services import duties
from services.audit_search import Table, TrailNames
from services.dossier_files import category_label
from services.forms import FORMS
from services.forms.fields import CHOICE_LABELS
from services.modules import dossier
from services.personal import mask_personal
from services.roles import ROLES, role_label

# action code → what a clerk reads; module.<m>.write / .sync are worded with the module's name (MODULE_ACTIONS)
ACTIONS: dict[str, Any] = {
    "auth.login": _l("Signed in"), "auth.login.failed": _l("Failed sign-in"),
    "auth.login.locked": _l("Sign-in refused (locked out)"), "auth.logout": _l("Signed out"),
    "auth.token": _l("Signed in for an API token"), "auth.token.failed": _l("Failed sign-in for an API token"),
    "auth.token.locked": _l("API sign-in refused (locked out)"), "auth.token.rejected": _l("API token refused"),
    "auth.password.change": _l("Changed the password"), "auth.password.failed": _l("Wrong current password"),
    "token.issue": _l("Issued an API token"), "token.revoke": _l("Revoked an API token"),
    "household.create": _l("Registered a household"), "household.import": _l("Imported a roster"),
    "household.move": _l("Moved a household to another work group"),
    "import.survey": _l("Imported survey work"), "import.appraisal": _l("Imported appraisal work"),
    "person.id_number.view": _l("Viewed a full ID number"),
    "task.claim": _l("Claimed a step"), "task.release": _l("Released a step"),
    "task.complete": _l("Completed a step"), "task.return": _l("Sent a case back"),
    "task.reassign": _l("Reassigned a step"),
    "file.upload": _l("Uploaded a file"), "file.download": _l("Downloaded a file"),
    "file.preview": _l("Previewed a file"),
    "agreement.download": _l("Downloaded the agreement"), "export.ledger": _l("Exported the case ledger"),
    "deadline.set": _l("Changed a step deadline"), "policy.created": _l("Saved a compensation policy version"),
    "definition.create": _l("Saved a process draft"), "definition.deploy": _l("Deployed a process version"),
    "definition.retire": _l("Retired a process version"),
    "instance.migrate": _l("Moved a case to a new process version"),
    "instance.error": _l("The case stopped with an engine error"),
    "audit.search": _l("Searched the audit trail"), "audit.export": _l("Exported the audit trail"),
    "staff.create": _l("Created a staff account"), "staff.update": _l("Changed a staff account"),
    "staff.disable": _l("Disabled a staff account"), "staff.enable": _l("Enabled a staff account"),
    "staff.password_reset": _l("Set a temporary password"), "staff.import": _l("Imported a staff list"),
    "auth.token.password_change": _l("API sign-in refused (temporary password not changed)"),
    "integrity.selection": _l("Recorded how the appraisal firm was chosen"),
    "integrity.conflict": _l("Declared a conflict of interest"),
    "finding.open": _l("Recorded an internal-audit finding"), "finding.rectify": _l("Recorded a rectification"),
    "finding.close": _l("Closed an internal-audit finding"),
    "finding.reopen": _l("Reopened an internal-audit finding"),
    "duty_rule.off": _l("Switched a separation-of-duties rule off"),
    "duty_rule.on": _l("Switched a separation-of-duties rule on again"),
    "project.create": _l("Created a project"), "project.update": _l("Changed a project's particulars"),
    "project.close": _l("Closed a project"), "project.archive": _l("Archived a project"),
    "project.reopen": _l("Reopened a project"),
    "village.create": _l("Added a village or section"), "village.update": _l("Changed a village or section"),
    "village.delete": _l("Removed a village or section"),
    "batch.create": _l("Added a batch"), "batch.update": _l("Changed a batch"), "batch.delete": _l("Removed a batch"),
    "work_group.create": _l("Added a work group"), "work_group.update": _l("Changed a work group"),
    "work_group.delete": _l("Removed a work group"),
    "work_group.member.add": _l("Added members to a work group"),
    "work_group.member.remove": _l("Took a member out of a work group"),
}
MODULE_ACTIONS: dict[str, Any] = {"write": _l("Saved %(module)s"), "sync": _l("Synchronised %(module)s from upstream")}

# where a staff account came from
SOURCES: dict[str, Any] = {"import": _l("Staff list import"), "first_admin": _l("First administrator"),
                           "roster": _l("Roster import"), "bulk_import": _l("Bulk import")}
# the titles of the keys the audit rows hold besides the forms' own fields
FIELDS: dict[str, Any] = {
    "username": _l("Username"), "reason": _l("Reason"), "due": _l("Time limit"), "bpmn_id": _l("Step"),
    "step": _l("Step"), "to": _l("Sent back to"), "rescheduled": _l("Open steps rescheduled"),
    "assignee_id": _l("Assignee"), "tokens_revoked": _l("Tokens revoked"), "name": _l("Name"),
    "module": _l("Module"), "category": _l("Category"), "size": _l("Size (bytes)"), "number": _l("Agreement number"),
    "revision": _l("Revision"), "rows": _l("Rows"), "created": _l("Households imported"), "file": _l("File"),
    "version": _l("Version"), "key": _l("Process"), "effective_from": _l("Effective from"),
    "expires_at": _l("Valid until"), "message": _l("Message"), "source": _l("Source"), "user": _l("User"),
    "project_id": _l("Project"), "household": _l("Household"), "action": _l("Action"), "since": _l("From"),
    "until": _l("To"), "code": _l("Code"), "head_name": _l("Head of household"), "address": _l("Address"),
    "kind": _l("Kind"), "section": _l("Section"), "phone": _l("Phone"), "id_number": _l("ID number"),
    "work_group_id": _l("Work group"), "village_id": _l("Village or section"),
    "upstream": _l("Filled from"), "bytes": _l("Size (bytes)"),
    "target": _l("Target"), "by_name": _l("Signed by"), "at": _l("Time"), "checks": _l("Red-line checks"),
    "items": _l("Compensation items"), "total": _l("Total"), "paid_total": _l("Paid in total"),
    "payees": _l("Parts by payee"), "owner": _l("Owner"),
    "display_name": _l("Full name"), "email": _l("E-mail"), "roles": _l("Roles"), "groups": _l("Work groups"),
    "must_change_password": _l("Must change password"),
    "severity": _l("Severity of the finding"), "role": _l("Responsible role of the finding"),
    "due_on": _l("Rectify-by date"), "state": _l("Finding state"), "rectification": _l("Rectification"),
    "method": _l("Selection method"), "held_on": _l("Selection date"), "candidates": _l("Firms considered"),
    "chosen_firm": _l("Chosen firm"), "batch_id": _l("Batch"), "conflict": _l("Conflict declared"),
    "text": _l("Finding"),
    "duty_rule": _l("Rule"),
    "households": _l("Households"), "businesses": _l("Enterprise or shop"), "steps_completed": _l("Steps completed"),
    "project_code": _l("Project code"), "decision_number": _l("Expropriation decision number"),
    "announced_on": _l("Announced on"), "signing_starts_on": _l("Signing starts on"),
    "sign_deadline": _l("Signing ends on"), "target_signed_on": _l("Target: all signed by"),
    "target_vacated_on": _l("Target: all vacated by"), "target_demolished_on": _l("Target: demolished by"),
    "target_cleared_on": _l("Target: cleared by"), "policy_version": _l("Compensation policy in force"),
    "description": _l("Notes"), "notes": _l("Notes"), "cadre_id": _l("Village cadre"),
    "leader_id": _l("Group leader"), "members": _l("Members"), "closed_at": _l("Closed at"),
    "reopen_reason": _l("Why the project was reopened"),
}
# technical keys a clerk has no use for
HIDDEN = frozenset({"sha256", "instance", "definition_id", "hash", "computed_at", "id", "household_id", "key",
                    "template_version", "upstream", "problem", "params", "by", "has_file", "required",
                    "already_imported"})
# audit keys whose values are codes of a label table
_CODED = {"state": labels.FINDING_STATE, "severity": labels.SEVERITY, "method": labels.SELECTION_METHOD}
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@cache
def _form_titles() -> dict[str, Any]:
    """Every step form's field name → its title (nested rows included)."""
    titles: dict[str, Any] = {}

    def walk(schema: Any) -> None:
        for name, field in schema._declared_fields.items():
            if field.metadata.get("title") is not None:
                titles.setdefault(name, field.metadata["title"])
            inner = field.inner if isinstance(field, mf.List) else field
            if isinstance(inner, mf.Nested) and isinstance(inner.nested, type):
                walk(inner.nested)

    for form in FORMS.values():
        walk(form.schema)
    return titles


def action_phrase(code: str) -> str:
    """An action code in words."""
    if code in ACTIONS:
        return str(ACTIONS[code])
    parts = code.split(".")
    if len(parts) == 3 and parts[0] == "module" and parts[2] in MODULE_ACTIONS:
        return str(MODULE_ACTIONS[parts[2]]) % {"module": labels.label(labels.MODULE, parts[1])}
    return _("Other operation")


def action_choices() -> list[tuple[str, str]]:
    """(code, phrase) of every action the trail can be filtered by, module saves included."""
    choices = [(code, str(text)) for code, text in ACTIONS.items()]
    choices += [(f"module.{module}.{kind}", action_phrase(f"module.{module}.{kind}"))
                for module in labels.MODULE for kind in MODULE_ACTIONS]
    return choices


@dataclass
class Change:
    """One field of a record's details: its title, the value before and after (display text)."""

    label: str
    before: str
    after: str


@dataclass
class TrailRow:
    """An audit row as the page and the export show it."""

    at: str
    person: str
    username: str | None
    action: str
    target: str
    household: str
    household_code: str | None
    address: str
    changes: list[Change]


class Presenter:
    """Turns audit rows into TrailRows with the names of a page's rows (audit_search.names)."""

    def __init__(self, names: TrailNames):
        self.names = names
        self.zone = ZoneInfo(current_app.config["TIMEZONE"])
        self.titles = {**_form_titles(), **FIELDS}

    def local(self, value: datetime) -> str:
        return value.replace(tzinfo=UTC).astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S")

    def row(self, row: AuditLog) -> TrailRow:
        code, head = self.names.households.get(row.household_id or -1, (None, ""))
        return TrailRow(
            at=self.local(row.at), username=row.actor_name,
            person=self.names.users.get(row.actor_id or -1) or row.actor_name or _("System"),
            action=action_phrase(row.action), target=self.target(row),
            household=f"{code} {head}".strip() if code else "", household_code=code, address=row.ip or "",
            changes=self.changes(row))

    def target(self, row: AuditLog) -> str:
        """What the action was done to, by name."""
        kind, key = row.target_type, str(row.target_id or "")
        number = int(key) if key.isdigit() else -1
        after = row.after if isinstance(row.after, dict) else {}
        if kind == "human_task":
            return self.names.steps.get(number, "")
        if kind == "user" and number in self.names.users:
            return self.names.users[number]
        if kind == "project":
            return self.names.projects.get(number, "")
        if kind == "process_definition":
            return self.names.definitions.get(number, "")
        if kind == "step_deadline":
            return self.names.step_names.get(str(after.get("bpmn_id")), "")
        if kind == "module":
            return labels.label(labels.MODULE, row.action.split(".")[1]) if row.action.startswith("module.") else ""
        if kind == "agreement":
            return _("Agreement %(number)s", number=key)
        if kind == "policy_version":
            return _("Version %(n)s", n=key)
        if kind in ("attachment", "api_token", "project_file", "village", "batch", "work_group") and after.get("name"):
            return str(after["name"])
        return ""

    def changes(self, row: AuditLog) -> list[Change]:
        """The details as fields that changed (a record created shows its values, one read its parameters)."""
        before = _flatten(_readable(mask_personal(row.before))) if row.before is not None else {}
        after = _flatten(_readable(mask_personal(row.after))) if row.after is not None else {}
        result = []
        for path in list(dict.fromkeys([*before, *after])):
            old, new = before.get(path), after.get(path)
            if old == new or path.split(".")[-1] in HIDDEN:
                continue
            result.append(Change(self.label(path), self.value(path, old), self.value(path, new)))
        return result

    def label(self, path: str) -> str:
        """persons.0.name → 家庭成员 1 · 姓名."""
        words = []
        for part in path.split("."):
            if part.isdigit():
                words[-1:] = [f"{words[-1]} {int(part) + 1}" if words else str(int(part) + 1)]
            elif part in ROLES:
                words.append(role_label(part, str(get_locale() or "zh")))
            else:
                words.append(str(self.titles.get(part, part)))
        return " · ".join(words)

    def value(self, path: str, value: Any) -> str:
        """A stored value as text: names for ids and codes, local times, 是/否."""
        key = path.split(".")[-1]
        if value is None or value == "" or value == []:
            return ""
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        if key in ("assignee_id", "cadre_id", "leader_id") or (key == "user_id" and isinstance(value, int)):
            return self.names.users.get(value, _("Someone else"))
        if key == "project_id":
            return self.names.projects.get(value, "")
        if key in self.names.parts and isinstance(value, int):
            return self.names.parts[key].get(value, "")
        if key == "roles" and isinstance(value, str):
            return role_label(value, str(get_locale() or "zh"))
        if key in ("username", "members") and isinstance(value, str):
            return self.names.by_username.get(value, value)
        if key in ("bpmn_id", "step", "to"):
            return self.names.step_names.get(str(value), str(value))
        if key == "module":
            return labels.label(labels.MODULE, str(value))
        if key == "category":
            return category_label(str(value))
        if key == "code" and isinstance(value, str):
            return str(CHOICE_LABELS[value]) if value in CHOICE_LABELS else dossier.label(value)
        if key == "kind":
            return labels.label({**labels.VILLAGE_KIND, **labels.PROJECT_KIND, **labels.KIND}, str(value))
        if key == "action":
            return action_phrase(str(value))
        if key == "duty_rule":
            return duties.rule_title(str(value))
        if key == "due":
            return duration_text(str(value))
        if key in _CODED and isinstance(value, str):
            return labels.label(_CODED[key], value)
        if key == "role" and isinstance(value, str):
            return role_label(value, str(get_locale() or "zh"))
        if key == "source" and value in SOURCES:
            return str(SOURCES[value])
        if isinstance(value, str) and _ISO_TIME.match(value):
            try:
                return self.local(datetime.fromisoformat(value).replace(tzinfo=None))
            except ValueError:
                return value
        if isinstance(value, list):
            return "、".join(self.value(path, v) for v in value)
        if isinstance(value, str) and value in CHOICE_LABELS:
            return str(CHOICE_LABELS[value])
        return str(value)


def _readable(value: Any) -> Any:
    """Stored structures a clerk reads as one sentence each: a red-line check by its wording in the reader's
    language, a compensation line as its label and amount."""
    if isinstance(value, dict):
        if "ok" in value and ("problem" in value or "message" in value):
            return labels.check_text(value)
        if {"label", "amount"} <= value.keys():
            return f"{value['label']}：{value['amount']} 元"
        return {key: _readable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_readable(item) for item in value]
    return value


def _flatten(value: Any, prefix: str = "", depth: int = 0) -> dict[str, Any]:
    """A nested document as path → leaf value (lists of plain values stay one leaf)."""
    if isinstance(value, dict) and depth < 4:
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key), depth + 1))
        return flat
    if isinstance(value, list) and depth < 4 and any(isinstance(v, dict) for v in value):
        flat = {}
        for index, item in enumerate(value):
            flat.update(_flatten(item, f"{prefix}.{index}", depth + 1))
        return flat
    return {prefix or "value": value}


def sheet(rows: list[AuditLog], names: TrailNames, presenter: Presenter | None = None) -> Table:
    """The export's table: the same words as the page, one change per line of the details cell."""
    presenter = presenter or Presenter(names)
    lines = []
    for row in rows:
        shown = presenter.row(row)
        details = "\n".join(f"{c.label}：{c.before} → {c.after}" if c.before else f"{c.label}：{c.after}"
                            for c in shown.changes)
        lines.append([shown.at, shown.person, shown.action, shown.target, shown.household, shown.address, details])
    return Table([_("Time"), _("Person"), _("Action"), _("Target"), _("Household"), _("IP address"), _("Details")],
                 [20, 14, 22, 22, 24, 16, 60], lines)

