"""Setting up the office's projects (administrators): a project's particulars and status, its villages and
sections, batches and work groups with their leaders and members — every change audited.

`from services import setup` keeps working: the names of the modules below are the package's own."""
from __future__ import annotations

from services.setup.groups import MemberInput, add_member, candidates, member_ids, remove_member
from services.setup.parts import (
    BATCH_KEYS,
    GROUP_KEYS,
    PARTS,
    VILLAGE_KEYS,
    VILLAGE_KINDS,
    BatchInput,
    GroupInput,
    Part,
    VillageInput,
    create_batch,
    create_group,
    create_village,
    delete_batch,
    delete_group,
    delete_village,
    part,
    part_fingerprint,
    update_batch,
    update_group,
    update_village,
)
from services.setup.projects import (
    DATE_ORDER,
    DATE_TITLES,
    NEXT_STATUS,
    PROJECT_KEYS,
    ProjectInput,
    ProjectRow,
    ReopenInput,
    StatusInput,
    archive_project,
    close_project,
    create_project,
    ensure_open,
    get_project,
    list_projects,
    policy_number,
    project_by_code,
    project_fingerprint,
    reopen_project,
    set_status,
    update_project,
)

__all__ = [
    "BATCH_KEYS", "DATE_ORDER", "DATE_TITLES", "GROUP_KEYS", "NEXT_STATUS", "PARTS", "PROJECT_KEYS", "VILLAGE_KEYS",
    "VILLAGE_KINDS", "BatchInput", "GroupInput", "MemberInput", "Part", "ProjectInput", "ProjectRow", "ReopenInput",
    "StatusInput", "VillageInput", "add_member", "archive_project", "candidates", "close_project", "create_batch",
    "create_group", "create_project", "create_village", "delete_batch", "delete_group", "delete_village",
    "ensure_open", "get_project", "list_projects", "member_ids", "part", "part_fingerprint", "policy_number",
    "project_by_code", "project_fingerprint",
    "remove_member", "reopen_project", "set_status", "update_batch", "update_group", "update_project",
    "update_village",
]
