"""supervision: step deadlines, escalation state, e-mail copies, case milestones

Revision ID: 0003_supervision
Revises: 0002_policy_tables
Create Date: 2026-11-25 21:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_supervision"
down_revision = "0002_policy_tables"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "step_deadlines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("bpmn_id", sa.String(length=64), nullable=False),
        sa.Column("due", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_step_deadline_scope", "step_deadlines", [sa.text("coalesce(project_id, 0)"), "bpmn_id"],
                    unique=True)
    with op.batch_alter_table("human_tasks") as batch:
        batch.add_column(sa.Column("escalation_level", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_escalation_at", sa.DateTime(), nullable=True))
        batch.create_index("ix_human_tasks_escalation", ["status", "next_escalation_at"])
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("email_status", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("emailed_at", sa.DateTime(), nullable=True))
        batch.create_index("ix_notifications_email", ["email_status"])
    with op.batch_alter_table("process_instances") as batch:
        batch.add_column(sa.Column("agreed_amount", sa.Numeric(14, 2), nullable=True))
        batch.add_column(sa.Column("signed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("paid_amount", sa.Numeric(14, 2), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("process_instances") as batch:
        batch.drop_column("paid_amount")
        batch.drop_column("signed_at")
        batch.drop_column("agreed_amount")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_index("ix_notifications_email")
        batch.drop_column("emailed_at")
        batch.drop_column("email_status")
    with op.batch_alter_table("human_tasks") as batch:
        batch.drop_index("ix_human_tasks_escalation")
        batch.drop_column("next_escalation_at")
        batch.drop_column("escalation_level")
    op.drop_index("uq_step_deadline_scope", table_name="step_deadlines")
    op.drop_table("step_deadlines")
