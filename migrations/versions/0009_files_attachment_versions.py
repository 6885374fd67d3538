"""attachment versions: a replaced file is kept, and its replacement names it

Revision ID: 0009_files_attachment_versions
Revises: 0008_completion_days
Create Date: 2026-12-06 12:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_files_attachment_versions"
down_revision = "0008_completion_days"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("attachments") as batch:
        batch.add_column(sa.Column("replaces_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_attachments_replaces", "attachments", ["replaces_id"], ["id"],
                                 ondelete="SET NULL")


def downgrade():
    with op.batch_alter_table("attachments") as batch:
        batch.drop_constraint("fk_attachments_replaces", type_="foreignkey")
        batch.drop_column("replaces_id")
