"""The roles of the office (DOMAIN.md) and how a BPMN lane names one."""
from __future__ import annotations

# code -> (中文, English)
ROLES: dict[str, tuple[str, str]] = {
    "surveyor": ("调查员", "Surveyor"),
    "appraiser": ("评估员", "Appraiser"),
    "rights_officer": ("确权员", "Rights officer"),
    "accountant": ("核算员", "Accountant"),
    "calc_auditor": ("核算审核员", "Calculation auditor"),
    "policy_reviewer": ("政策审核员", "Policy reviewer"),
    "group_leader": ("工作组负责人", "Work-group leader"),
    "village_cadre": ("村干部", "Village cadre"),
    "handler": ("经办人", "Handler"),
    "reviewer": ("审核人员", "Reviewer"),
    "finance": ("财务", "Finance"),
    "archivist": ("档案管理员", "Archivist"),
    "supervisor": ("分管领导", "Supervisor"),
    "process_owner": ("流程管理员", "Process owner"),
    "admin": ("系统管理员", "Administrator"),
}

_BY_NAME: dict[str, str] = {}
for _code, (_zh, _en) in ROLES.items():
    _BY_NAME[_code] = _code
    _BY_NAME[_zh] = _code
    _BY_NAME[_en.lower()] = _code


def resolve_role(lane_name: str | None) -> str | None:
    """The role code a lane stands for: its code, its Chinese or its English name; None if unknown."""
    if not lane_name:
        return None
    name = lane_name.strip()
    return _BY_NAME.get(name) or _BY_NAME.get(name.lower())


def role_label(code: str, locale: str = "zh") -> str:
    """The display name of a role in the given locale."""
    names = ROLES.get(code)
    if names is None:
        return code
    return names[0] if locale.startswith("zh") else names[1]


# Whose households a role works on (one declaration; services/access.py applies it).
# Group-bound roles see and act on the households of their own work groups (a group leader's also those of
# the groups they lead); project-wide roles on every household of their groups' projects; SEES_ALL on all.
GROUP_BOUND: frozenset[str] = frozenset({"surveyor", "appraiser", "rights_officer", "accountant", "handler",
                                         "group_leader"})
PROJECT_WIDE: frozenset[str] = frozenset({"calc_auditor", "policy_reviewer", "reviewer", "finance", "archivist",
                                          "village_cadre", "process_owner"})
SEES_ALL: frozenset[str] = frozenset({"supervisor", "admin"})

# signing steps bound to the household: step -> (its role, who of the role may sign it)
#   leader  – the leader of the household's work group (WorkGroup.leader_id)
#   group   – a holder of the role in the household's work group (the group-bound rule)
#   village – the cadre of the household's village when it has one, else any holder in the project
#   project – any holder of the role in the project
SIGNERS: dict[str, tuple[str, str]] = {
    "sign_group_leader": ("group_leader", "leader"),
    "sign_handler": ("handler", "group"),
    "sign_village_cadre": ("village_cadre", "village"),
    "sign_reviewer": ("reviewer", "project"),
}


def scope_of(role: str) -> str:
    """'all', 'project' or 'group': how far a role reaches (roles not declared reach their groups only)."""
    if role in SEES_ALL:
        return "all"
    if role in PROJECT_WIDE:
        return "project"
    return "group"
