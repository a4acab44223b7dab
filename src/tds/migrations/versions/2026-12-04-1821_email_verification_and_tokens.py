"""accounts: verified emails; single-use emailed tokens (verification, password reset)

Revision ID: 1a2b3c4d5e61
Revises: d3e4f5061723
Create Date: 2026-12-04 18:21:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tds.kit.db

revision = "1a2b3c4d5e61"
down_revision = "d3e4f5061723"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "email_tokens",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("created_at", tds.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", tds.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("used_at", tds.kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_email_tokens_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_tokens")),
    )
    with op.batch_alter_table("email_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_email_tokens_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_email_tokens_expires_at"), ["expires_at"], unique=False
        )

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_verified_at", tds.kit.db.UtcDateTime(timezone=True), nullable=True)
        )
    # Accounts made before email verification existed keep working as they did: they count as
    # verified since they were made (and already had their welcome credits).
    op.execute("UPDATE accounts SET email_verified_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("email_verified_at")

    with op.batch_alter_table("email_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_tokens_expires_at"))
        batch_op.drop_index(batch_op.f("ix_email_tokens_account_id"))

    op.drop_table("email_tokens")
