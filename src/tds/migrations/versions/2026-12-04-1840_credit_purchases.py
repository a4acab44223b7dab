"""credit purchases: Stripe Checkout sessions and the webhook events already granted

Revision ID: f50617283945
Revises: e4f506172834
Create Date: 2026-12-04 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tds.kit.db

revision = "f50617283945"
down_revision = "e4f506172834"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credit_purchases",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("checkout_session_id", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("pack_id", sa.String(length=64), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", tds.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("granted_at", tds.kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("event_id", sa.String(length=255), nullable=True),
        sa.CheckConstraint("credits > 0", name=op.f("ck_credit_purchases_credits_positive")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_credit_purchases_amount_positive")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_credit_purchases_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["accounts.id"], name=op.f("fk_credit_purchases_member_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_purchases")),
        sa.UniqueConstraint(
            "checkout_session_id", name=op.f("uq_credit_purchases_checkout_session_id")
        ),
        sa.UniqueConstraint("event_id", name=op.f("uq_credit_purchases_event_id")),
    )
    op.create_index(op.f("ix_credit_purchases_account_id"), "credit_purchases", ["account_id"])
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("checkout_session_id", sa.String(length=255), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("received_at", tds.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
    )


def downgrade() -> None:
    op.drop_table("stripe_events")
    op.drop_index(op.f("ix_credit_purchases_account_id"), table_name="credit_purchases")
    op.drop_table("credit_purchases")
