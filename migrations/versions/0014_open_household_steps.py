"""a household's open steps: a partial index over the open steps by household (the case page's files card, a
module's open step, moving a household to another work group)

Revision ID: 0014_open_household_steps
Revises: 0013_join_office
Create Date: 2026-12-06 19:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_open_household_steps"
down_revision = "0013_join_office"
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'ready'")


def upgrade():
    op.create_index("ix_human_tasks_open_household", "human_tasks", ["household_id"], postgresql_where=OPEN,
                    sqlite_where=OPEN)


def downgrade():
    op.drop_index("ix_human_tasks_open_household", table_name="human_tasks")
