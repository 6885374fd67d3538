"""reliability: e-mail copies claimed one at a time with a lease and retried with backoff; idempotency keys

Revision ID: 0009_faults_reliability
Revises: 0008_completion_days
Create Date: 2026-12-06 12:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_faults_reliability"
down_revision = "0008_completion_days"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("email_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("email_next_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("email_claim", sa.String(64), nullable=True))
        batch.add_column(sa.Column("email_lease_until", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("email_error", sa.String(300), nullable=True))
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def downgrade():
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    with op.batch_alter_table("notifications") as batch:
        for name in ("email_error", "email_lease_until", "email_claim", "email_next_at", "email_attempts"):
            batch.drop_column(name)
