"""reports by work group: completion days by work group (the trend of one work group read from the counts as
well) and the open steps by work group (a group's steps and overdue figures read from an index)

Revision ID: 0015_reports_completion_groups
Revises: 0014_open_household_steps
Create Date: 2026-12-06 19:40:00

Each counted day gets a row per project and work group (NULL: households without a group) instead of one
per project; the marker of a counted day stays (project 0, no group). The days counted before are counted
again by work group — the household's group, as a new day is counted — from the history they came from.
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_reports_completion_groups"
down_revision = "0014_open_household_steps"
branch_labels = None
depends_on = None

_BY_GROUP = """
INSERT INTO completion_days (day, project_id, work_group_id, completed)
SELECT date(task_events.at), process_instances.project_id, households.work_group_id, count(*)
FROM task_events
JOIN process_instances ON process_instances.id = task_events.instance_id
JOIN households ON households.id = process_instances.household_id
WHERE task_events.action = 'completed'
  AND task_events.at >= (SELECT min(day) FROM completion_days_before)
  AND date(task_events.at) IN (SELECT day FROM completion_days_before WHERE project_id = 0)
GROUP BY date(task_events.at), process_instances.project_id, households.work_group_id
"""


def _create(name: str, *, groups: bool) -> None:
    columns = [sa.Column("id", sa.Integer(), nullable=False)] if groups else []
    columns += [sa.Column("day", sa.Date(), nullable=False),
                sa.Column("project_id", sa.Integer(), autoincrement=False, nullable=False)]
    columns += [sa.Column("work_group_id", sa.Integer(), nullable=True)] if groups else []
    columns += [sa.Column("completed", sa.Integer(), nullable=False)]
    # named apart: the renamed table keeps its primary key's name until it is dropped
    columns.append(sa.PrimaryKeyConstraint("id", name="completion_days_group_pkey") if groups
                   else sa.PrimaryKeyConstraint("day", "project_id"))
    op.create_table(name, *columns)


OPEN = sa.text("status = 'ready'")
OPEN_GROUP = ["work_group_id", "bpmn_id"]
OPEN_GROUP_INCLUDE = ["project_id", "role", "due_at", "assignee_id", "name"]


def upgrade():
    # PostgreSQL carries the included columns in the index, SQLite as key columns (as migration 0007 does)
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_human_tasks_open_group", "human_tasks", OPEN_GROUP, postgresql_where=OPEN,
                        postgresql_include=OPEN_GROUP_INCLUDE)
    else:
        op.create_index("ix_human_tasks_open_group", "human_tasks", OPEN_GROUP + OPEN_GROUP_INCLUDE,
                        sqlite_where=OPEN)
    op.rename_table("completion_days", "completion_days_before")
    _create("completion_days", groups=True)
    # one row per day, project and group; coalesce makes "no group" (NULL) a value the index can compare
    op.create_index("uq_completion_days_day_group", "completion_days",
                    ["day", "project_id", sa.text("coalesce(work_group_id, 0)")], unique=True)
    op.execute("INSERT INTO completion_days (day, project_id, work_group_id, completed) "
               "SELECT day, 0, NULL, completed FROM completion_days_before WHERE project_id = 0")
    op.execute(_BY_GROUP)
    op.drop_table("completion_days_before")


def downgrade():
    op.drop_index("ix_human_tasks_open_group", table_name="human_tasks")
    op.rename_table("completion_days", "completion_days_after")
    _create("completion_days", groups=False)
    op.execute("INSERT INTO completion_days (day, project_id, completed) "
               "SELECT day, project_id, sum(completed) FROM completion_days_after GROUP BY day, project_id")
    op.drop_table("completion_days_after")
