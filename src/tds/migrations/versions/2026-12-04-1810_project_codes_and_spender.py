"""renders and ledger entries: project codes; who spent (member, key, source)

Landed empty, as a placeholder, and may already be applied somewhere: its work is in the
revisions after d3e4f5061723 (1821 to 1823), so a database stamped here still gets it.

Revision ID: c2d3e4f50612
Revises: b1c2d3e4f501
Create Date: 2026-12-04 18:10:00
"""

from __future__ import annotations

revision = "c2d3e4f50612"
down_revision = "b1c2d3e4f501"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
