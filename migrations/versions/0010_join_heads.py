"""join the heads: attachment versions and the reliability tables meet here

Revision ID: 0010_join_heads
Revises: 0009_faults_reliability, 0009_files_attachment_versions
"""
from __future__ import annotations

revision = "0010_join_heads"
down_revision = ("0009_faults_reliability", "0009_files_attachment_versions")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: the two branches touch different tables."""


def downgrade() -> None:
    """Nothing to change."""
