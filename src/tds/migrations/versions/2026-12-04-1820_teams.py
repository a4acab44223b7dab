"""teams: accounts are people or teams; memberships with roles and monthly caps

Landed empty, as a placeholder, and may already be applied somewhere: its work is in the
revisions after d3e4f5061723 (1821 to 1823), so a database stamped here still gets it.

Revision ID: d3e4f5061723
Revises: c2d3e4f50612
Create Date: 2026-12-04 18:20:00
"""

from __future__ import annotations

revision = "d3e4f5061723"
down_revision = "c2d3e4f50612"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
