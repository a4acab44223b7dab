"""teams: every account is its own team; members with roles and monthly caps; invitations;
API keys made by a member; web sessions working in a team

Revision ID: 3c4d5e6f7a83
Revises: 2b3c4d5e6f72
Create Date: 2026-12-04 18:23:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tds.kit.db

revision = "3c4d5e6f7a83"
down_revision = "2b3c4d5e6f72"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "team_members",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("monthly_cap", sa.Integer(), nullable=True),
        sa.Column("cap_period", sa.String(length=7), nullable=False),
        sa.Column("cap_spent", sa.Integer(), nullable=False),
        sa.Column("created_at", tds.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('owner', 'admin', 'member')", name=op.f("ck_team_members_role_known")
        ),
        sa.CheckConstraint(
            "monthly_cap IS NULL OR monthly_cap >= 0", name=op.f("ck_team_members_cap_not_negative")
        ),
        sa.CheckConstraint("cap_spent >= 0", name=op.f("ck_team_members_cap_spent_not_negative")),
        sa.ForeignKeyConstraint(
            ["team_id"], ["accounts.id"], name=op.f("fk_team_members_team_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["accounts.id"], name=op.f("fk_team_members_member_id_accounts")
        ),
        sa.PrimaryKeyConstraint("team_id", "member_id", name=op.f("pk_team_members")),
    )
    op.create_index(op.f("ix_team_members_member_id"), "team_members", ["member_id"])
    op.create_table(
        "team_invitations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("invited_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", tds.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", tds.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", tds.kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["team_id"], ["accounts.id"], name=op.f("fk_team_invitations_team_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["invited_by"], ["accounts.id"], name=op.f("fk_team_invitations_invited_by_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_invitations")),
    )
    op.create_index(op.f("ix_team_invitations_team_id"), "team_invitations", ["team_id"])

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("team_name", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("last_team_id", sa.String(length=32), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_accounts_last_team_id_accounts"), "accounts", ["last_team_id"], ["id"]
        )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("team_id", sa.String(length=32), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_web_sessions_team_id_accounts"), "accounts", ["team_id"], ["id"]
        )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("member_id", sa.String(length=32), nullable=True))

    # Today's accounts become personal teams, each owned by itself: balances, ledgers, keys
    # and renders stay where they are, since the team is the same account.
    op.execute(
        "INSERT INTO team_members (team_id, member_id, role, monthly_cap, cap_period, cap_spent,"
        " created_at) SELECT id, id, 'owner', NULL, '', 0, created_at FROM accounts"
    )
    op.execute("UPDATE api_keys SET member_id = account_id")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.alter_column("member_id", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_api_keys_member_id_accounts"), "accounts", ["member_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_api_keys_member_id"), ["member_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_member_id"))
        batch_op.drop_constraint(batch_op.f("fk_api_keys_member_id_accounts"), type_="foreignkey")
        batch_op.drop_column("member_id")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_web_sessions_team_id_accounts"), type_="foreignkey")
        batch_op.drop_column("team_id")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_accounts_last_team_id_accounts"), type_="foreignkey"
        )
        batch_op.drop_column("last_team_id")
        batch_op.drop_column("team_name")
    op.drop_index(op.f("ix_team_invitations_team_id"), table_name="team_invitations")
    op.drop_table("team_invitations")
    op.drop_index(op.f("ix_team_members_member_id"), table_name="team_members")
    op.drop_table("team_members")
