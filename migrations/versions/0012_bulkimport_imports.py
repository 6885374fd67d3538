"""bulk imports: each workbook of earlier survey or appraisal work imported into a project, once per file

Revision ID: 0012_bulkimport_imports
Revises: 0011_office_setup
Create Date: 2026-12-07 10:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012_bulkimport_imports"
down_revision = "0011_office_setup"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    op.create_table(
        "bulk_imports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("summary", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.UniqueConstraint("project_id", "sha256", "kind", name="uq_bulk_import_file"),
    )
    op.create_index("ix_bulk_imports_project_id", "bulk_imports", ["project_id"])


def downgrade():
    op.drop_index("ix_bulk_imports_project_id", table_name="bulk_imports")
    op.drop_table("bulk_imports")
