"""monthly allowance: plan credits granted each month, expiring at its end; purchases kept

Revision ID: e4f506172834
Revises: d3e4f5061723
Create Date: 2026-12-04 18:30:00
"""

from __future__ import annotations

revision = "e4f506172834"
down_revision = "d3e4f5061723"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
