"""integrity controls and internal audit: project files, appraisal firm selections, conflict-of-interest
declarations, audit findings

Revision ID: 0012_integrity_audit
Revises: 0011_office_setup
Create Date: 2026-12-07 10:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012_integrity_audit"
down_revision = "0011_office_setup"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _user(name):
    return sa.Column(name, sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)


def upgrade():
    op.create_table(
        "project_files",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content_type", sa.String(128), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        _user("uploaded_by_id"),
    )
    op.create_index("ix_project_files_project", "project_files", ["project_id", "purpose"])
    op.create_table(
        "firm_selections",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("batch_id", sa.Integer(), sa.ForeignKey("batches.id", ondelete="SET NULL"), nullable=True),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("candidates", JSON, nullable=False),
        sa.Column("chosen_firm", sa.String(128), nullable=False),
        sa.Column("minutes_file_id", sa.Integer(), sa.ForeignKey("project_files.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _user("created_by_id"),
    )
    op.create_index("ix_firm_selections_project", "firm_selections", ["project_id", "batch_id"])
    op.create_table(
        "conflict_declarations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("household_id", sa.Integer(), sa.ForeignKey("households.id", ondelete="CASCADE"), nullable=False),
        sa.Column("task_id", sa.Integer(), sa.ForeignKey("human_tasks.id", ondelete="SET NULL"), nullable=True),
        sa.Column("bpmn_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("conflict", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("declared_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_conflict_declarations_household", "conflict_declarations",
                    ["household_id", "bpmn_id", "user_id"])
    op.create_table(
        "audit_findings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("household_id", sa.Integer(), sa.ForeignKey("households.id", ondelete="CASCADE"), nullable=False),
        sa.Column("bpmn_id", sa.String(64), nullable=False),
        sa.Column("step_name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        _user("opened_by_id"),
        sa.Column("rectification", sa.Text(), nullable=True),
        sa.Column("rectification_file_id", sa.Integer(), sa.ForeignKey("project_files.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("rectified_at", sa.DateTime(), nullable=True),
        _user("rectified_by_id"),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        _user("closed_by_id"),
        sa.Column("reopen_reason", sa.Text(), nullable=True),
        sa.Column("sample", JSON, nullable=True),
    )
    op.create_index("ix_audit_findings_project_state", "audit_findings", ["project_id", "state"])
    op.create_index("ix_audit_findings_role_state", "audit_findings", ["role", "state"])


def downgrade():
    op.drop_index("ix_audit_findings_role_state", table_name="audit_findings")
    op.drop_index("ix_audit_findings_project_state", table_name="audit_findings")
    op.drop_table("audit_findings")
    op.drop_index("ix_conflict_declarations_household", table_name="conflict_declarations")
    op.drop_table("conflict_declarations")
    op.drop_index("ix_firm_selections_project", table_name="firm_selections")
    op.drop_table("firm_selections")
    op.drop_index("ix_project_files_project", table_name="project_files")
    op.drop_table("project_files")
