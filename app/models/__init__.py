"""The SQLAlchemy models, one module per area."""
from app.models.audit import AuditLog
from app.models.bulk_import import BulkImport
from app.models.household import HOUSEHOLD_KINDS, Household, ModuleRecord, ModuleRevision
from app.models.household_file import (
    Agreement,
    AgreementCounter,
    AncillaryItem,
    Attachment,
    Building,
    BusinessDetail,
    Payment,
    Person,
)
from app.models.identity import (
    PROJECT_KINDS,
    PROJECT_STATUSES,
    ApiToken,
    Batch,
    LoginFailure,
    Project,
    Role,
    User,
    Village,
    WorkGroup,
    group_members,
    user_roles,
)
from app.models.integrity import AuditFinding, ConflictDeclaration, FirmSelection, ProjectFile
from app.models.notification import IdempotencyKey, Notification
from app.models.policy import PolicyVersion
from app.models.supervision import CompletionDay, StepDeadline
from app.models.types import MAX_ID, utcnow
from app.models.workflow import HumanTask, ProcessDefinition, ProcessInstance, TaskEvent

__all__ = [
    "PROJECT_KINDS",
    "PROJECT_STATUSES",
    "Batch",
    "BulkImport",
    "Village",
    "Agreement",
    "AgreementCounter",
    "AncillaryItem",
    "Attachment",
    "Building",
    "CompletionDay",
    "BusinessDetail",
    "Payment",
    "Person",
    "HOUSEHOLD_KINDS",
    "ApiToken",
    "AuditFinding",
    "AuditLog",
    "ConflictDeclaration",
    "FirmSelection",
    "ProjectFile",
    "Household",
    "IdempotencyKey",
    "LoginFailure",
    "MAX_ID",
    "HumanTask",
    "ModuleRecord",
    "ModuleRevision",
    "Notification",
    "PolicyVersion",
    "ProcessDefinition",
    "ProcessInstance",
    "Project",
    "Role",
    "StepDeadline",
    "TaskEvent",
    "User",
    "WorkGroup",
    "group_members",
    "user_roles",
    "utcnow",
]
