"""The SQLAlchemy models, one module per area."""
from app.models.audit import AuditLog
from app.models.household import HOUSEHOLD_KINDS, Household, ModuleRecord, ModuleRevision
from app.models.identity import ApiToken, Project, Role, User, WorkGroup, group_members, user_roles
from app.models.notification import Notification
from app.models.types import utcnow
from app.models.workflow import HumanTask, ProcessDefinition, ProcessInstance, TaskEvent

__all__ = [
    "HOUSEHOLD_KINDS",
    "ApiToken",
    "AuditLog",
    "Household",
    "HumanTask",
    "ModuleRecord",
    "ModuleRevision",
    "Notification",
    "ProcessDefinition",
    "ProcessInstance",
    "Project",
    "Role",
    "TaskEvent",
    "User",
    "WorkGroup",
    "group_members",
    "user_roles",
    "utcnow",
]
