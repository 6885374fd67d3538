"""bench indexes: partial indexes over the open steps (status = 'ready') for the inbox, the reports and the
supervisor's stuck-case search (they replace the inbox index over every step ever opened); the unfinished
instances by last progress; the progress totals per household; completions and signatures by day (trend)

Revision ID: 0007_bench_indexes
Revises: 0006_hardening
Create Date: 2026-11-26 03:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_bench_indexes"
down_revision = "0006_hardening"
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'ready'")


def _open_index(name: str, columns: list[str], include: list[str]) -> None:
    """A partial index over the open steps; PostgreSQL carries `include` in the index, SQLite as key columns."""
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(name, "human_tasks", columns, postgresql_where=OPEN, postgresql_include=include)
    else:
        op.create_index(name, "human_tasks", columns + include, sqlite_where=OPEN)


def upgrade():
    # the inbox: a role's open steps of a project, most urgent first (the index's order)
    _open_index("ix_human_tasks_open_inbox", ["role", "project_id", "due_at", "created_at", "id"],
                ["assignee_id", "returned"])
    # overdue steps per project, role and person (reports, supervisor overview)
    _open_index("ix_human_tasks_open_due", ["due_at"], ["project_id", "role", "assignee_id"])
    # open steps per project and step (reports, live diagram)
    _open_index("ix_human_tasks_open_steps", ["project_id", "bpmn_id"], ["due_at", "name"])
    # the steps a user has claimed ("assigned to me"), most urgent first
    _open_index("ix_human_tasks_open_assignee", ["assignee_id", "due_at", "created_at", "id"], [])
    # does an instance have an open step (stuck cases)
    _open_index("ix_human_tasks_open_instance", ["instance_id"], [])
    op.drop_index("ix_human_tasks_inbox", table_name="human_tasks")
    # the reports' trend: steps completed and agreements signed per day
    completed = sa.text("action = 'completed'")
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_task_events_completed_at", "task_events", ["at"], postgresql_where=completed,
                        postgresql_include=["instance_id"])
    else:
        op.create_index("ix_task_events_completed_at", "task_events", ["at", "instance_id"], sqlite_where=completed)
    signed = sa.text("signed_at IS NOT NULL")
    op.create_index("ix_instances_signed_at", "process_instances", ["signed_at"], postgresql_where=signed,
                    sqlite_where=signed)
    # the progress report's totals per work group read this index, not the table (which holds the states)
    totals = ["status", "signed_at", "agreed_amount", "paid_amount"]
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_instances_household_totals", "process_instances", ["household_id"],
                        postgresql_include=totals)
    else:
        op.create_index("ix_instances_household_totals", "process_instances", ["household_id", *totals])
    # stuck cases: unfinished instances, least recent progress first
    unfinished = sa.text("status IN ('running', 'error')")
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_instances_unfinished_progress", "process_instances", ["last_progress_at", "id"],
                        postgresql_where=unfinished, postgresql_include=["status", "next_timer_at"])
    else:
        op.create_index("ix_instances_unfinished_progress", "process_instances",
                        ["last_progress_at", "id", "status", "next_timer_at"], sqlite_where=unfinished)


def downgrade():
    op.drop_index("ix_instances_unfinished_progress", table_name="process_instances")
    op.drop_index("ix_instances_signed_at", table_name="process_instances")
    op.drop_index("ix_instances_household_totals", table_name="process_instances")
    op.drop_index("ix_task_events_completed_at", table_name="task_events")
    op.create_index("ix_human_tasks_inbox", "human_tasks", ["status", "role", "project_id", "due_at"])
    for name in ("ix_human_tasks_open_instance", "ix_human_tasks_open_assignee", "ix_human_tasks_open_steps",
                 "ix_human_tasks_open_due", "ix_human_tasks_open_inbox"):
        op.drop_index(name, table_name="human_tasks")
