"""completion days: steps completed per project on each closed day, counted once for the reports' trend

Revision ID: 0008_completion_days
Revises: 0007_bench_indexes
Create Date: 2026-11-26 06:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_completion_days"
down_revision = "0007_bench_indexes"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "completion_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("project_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "project_id"),
    )


def downgrade():
    op.drop_table("completion_days")
