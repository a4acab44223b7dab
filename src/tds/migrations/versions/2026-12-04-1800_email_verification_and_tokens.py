"""accounts: verified emails; single-use emailed tokens (verification, password reset)

Landed empty, as a placeholder, and may already be applied somewhere: its work is in the
revisions after d3e4f5061723 (1821 to 1823), so a database stamped here still gets it.

Revision ID: b1c2d3e4f501
Revises: 9d4b7e21c3a8
Create Date: 2026-12-04 18:00:00
"""

from __future__ import annotations

revision = "b1c2d3e4f501"
down_revision = "9d4b7e21c3a8"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
