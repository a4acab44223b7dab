"""credit purchases: Stripe Checkout sessions and the webhook events already granted

Revision ID: f50617283945
Revises: e4f506172834
Create Date: 2026-12-04 18:40:00
"""

from __future__ import annotations

revision = "f50617283945"
down_revision = "e4f506172834"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
