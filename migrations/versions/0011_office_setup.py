"""office setup: project particulars, villages and sections, batches, staff sign-in facts, duty rules

Revision ID: 0011_office_setup
Revises: 0010_join_heads
Create Date: 2026-12-06 16:10:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011_office_setup"
down_revision = "0010_join_heads"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
PROJECT_DATES = ("announced_on", "signing_starts_on", "target_signed_on", "target_vacated_on",
                 "target_demolished_on", "target_cleared_on")


def upgrade():
    op.create_table(
        "villages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False, server_default="village"),
        sa.Column("cadre_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("notes", sa.String(500), nullable=True),
        sa.UniqueConstraint("project_id", "name", name="uq_village_project_name"),
    )
    op.create_index("ix_villages_project_id", "villages", ["project_id"])
    op.create_table(
        "batches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("notes", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("project_id", "name", name="uq_batch_project_name"),
    )
    op.create_index("ix_batches_project_id", "batches", ["project_id"])
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="collective"))
        batch.add_column(sa.Column("decision_number", sa.String(64), nullable=True))
        for name in PROJECT_DATES:
            batch.add_column(sa.Column(name, sa.Date(), nullable=True))
        batch.add_column(sa.Column("policy_version_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="active"))
        batch.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("duty_rules_off", JSON, nullable=True))
        batch.create_foreign_key("fk_projects_policy_version", "policy_versions", ["policy_version_id"], ["id"],
                                 ondelete="SET NULL")
    with op.batch_alter_table("households") as batch:
        batch.add_column(sa.Column("village_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("batch_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_households_village", "villages", ["village_id"], ["id"], ondelete="SET NULL")
        batch.create_foreign_key("fk_households_batch", "batches", ["batch_id"], ["id"], ondelete="SET NULL")
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("last_login_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("last_login_at")
        batch.drop_column("must_change_password")
    with op.batch_alter_table("households") as batch:
        batch.drop_constraint("fk_households_batch", type_="foreignkey")
        batch.drop_constraint("fk_households_village", type_="foreignkey")
        batch.drop_column("batch_id")
        batch.drop_column("village_id")
    with op.batch_alter_table("projects") as batch:
        batch.drop_constraint("fk_projects_policy_version", type_="foreignkey")
        for name in ("duty_rules_off", "closed_at", "status", "policy_version_id", *PROJECT_DATES,
                     "decision_number", "kind"):
            batch.drop_column(name)
    op.drop_index("ix_batches_project_id", table_name="batches")
    op.drop_table("batches")
    op.drop_index("ix_villages_project_id", table_name="villages")
    op.drop_table("villages")
