"""audit chain: each audit row carries the previous row's hash and its own; PostgreSQL refuses changes

Revision ID: 0005_audit_chain
Revises: 0004_household_file
Create Date: 2026-11-25 21:40:00
"""
import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0005_audit_chain"
down_revision = "0004_household_file"
branch_labels = None
depends_on = None

FIELDS = ("at", "actor_id", "actor_name", "action", "target_type", "target_id", "household_id", "before", "after",
          "ip", "prev_hash")


def _digest(row: dict) -> str:
    content = {k: row.get(k) for k in FIELDS}
    content["at"] = row["at"].isoformat(timespec="microseconds") if row.get("at") else None
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False,
                                     separators=(",", ":")).encode("utf-8")).hexdigest()


def upgrade():
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    table = sa.table("audit_log", sa.column("id", sa.Integer), sa.column("at", sa.DateTime),
                     *(sa.column(f) for f in ("actor_id", "actor_name", "action", "target_type", "target_id",
                                              "household_id", "ip")),
                     sa.column("before", sa.JSON), sa.column("after", sa.JSON),
                     sa.column("prev_hash", sa.String), sa.column("hash", sa.String))
    previous = "0" * 64
    for row in bind.execute(sa.select(table).order_by(table.c.id)).mappings():
        values = dict(row)
        values["prev_hash"] = previous
        previous = _digest(values)
        bind.execute(table.update().where(table.c.id == row["id"]).values(prev_hash=values["prev_hash"],
                                                                          hash=previous))
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
    if bind.dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
            END $$;
        """)
        op.execute("CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()")
        op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
