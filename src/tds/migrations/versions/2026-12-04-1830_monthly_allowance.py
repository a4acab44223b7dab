"""monthly allowance: plan credits granted each month, expiring at its end; purchases kept

Revision ID: e4f506172834
Revises: 3c4d5e6f7a83
Create Date: 2026-12-04 18:30:00
"""

from __future__ import annotations

revision = "e4f506172834"
down_revision = "3c4d5e6f7a83"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
