"""join the heads: steps by work group, integrity and internal audit, bulk imports meet here

Revision ID: 0013_join_office
Revises: 0012_scope_task_group, 0012_integrity_audit, 0012_bulkimport_imports
"""
from __future__ import annotations

revision = "0013_join_office"
down_revision = ("0012_scope_task_group", "0012_integrity_audit", "0012_bulkimport_imports")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: the three branches touch different tables."""


def downgrade() -> None:
    """Nothing to change."""
