"""steps carry their household's work group: whose step it is, read without a join

Revision ID: 0012_scope_task_group
Revises: 0011_office_setup
Create Date: 2026-12-07 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_scope_task_group"
down_revision = "0011_office_setup"
branch_labels = None
depends_on = None


def upgrade():
    # added in place (no table copy on SQLite: the partial indexes of the open steps stay as they are)
    with op.batch_alter_table("human_tasks") as batch:
        batch.add_column(sa.Column("work_group_id", sa.Integer(),
                                   sa.ForeignKey("work_groups.id", ondelete="SET NULL",
                                                 name="fk_human_tasks_work_group"), nullable=True))
    op.execute("UPDATE human_tasks SET work_group_id = (SELECT households.work_group_id FROM households "
               "WHERE households.id = human_tasks.household_id)")


def downgrade():
    with op.batch_alter_table("human_tasks") as batch:
        batch.drop_column("work_group_id")
