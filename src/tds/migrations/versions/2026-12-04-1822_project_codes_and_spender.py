"""renders and ledger entries: project codes; who spent (member, key, source)

Revision ID: 2b3c4d5e6f72
Revises: 1a2b3c4d5e61
Create Date: 2026-12-04 18:22:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2b3c4d5e6f72"
down_revision = "1a2b3c4d5e61"
branch_labels = None
depends_on = None

_WHO = ("member_id", "api_key_id", "source", "project")


def _who_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("member_id", sa.String(length=32), nullable=True),
        sa.Column("api_key_id", sa.String(length=32), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=True),
        sa.Column("project", sa.String(length=100), nullable=True),
    ]


def upgrade() -> None:
    # Nullable columns without foreign keys: SQLite adds them in place (ALTER TABLE ADD
    # COLUMN), so ledger_entries keeps its append-only triggers.
    with op.batch_alter_table("renders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("project", sa.String(length=100), nullable=True))
    with op.batch_alter_table("holds", schema=None) as batch_op:
        for column in _who_columns():
            batch_op.add_column(column)
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        for column in _who_columns():
            batch_op.add_column(column)

    # Until now every account was one person: a hold was the account's own doing, through the
    # key its render names (none: the dashboard). The reaper's releases were the system's;
    # grants were welcome credits at sign-up or an administrator's.
    op.execute(
        "UPDATE holds SET member_id = account_id, "
        "api_key_id = (SELECT renders.api_key_id FROM renders WHERE renders.hold_id = holds.id)"
    )
    op.execute(
        "UPDATE holds SET source = CASE WHEN api_key_id IS NULL THEN 'dashboard' ELSE 'api' END"
    )
    _allow_ledger_edits()  # a backfill of columns that did not exist: no entry's meaning changes
    op.execute(
        "UPDATE ledger_entries SET member_id = account_id, api_key_id = "
        "(SELECT holds.api_key_id FROM holds WHERE holds.id = ledger_entries.hold_id) "
        "WHERE kind IN ('hold', 'capture', 'release')"
    )
    op.execute(
        "UPDATE ledger_entries SET source = CASE "
        "WHEN kind = 'grant' AND note = 'welcome credits' THEN 'signup' "
        "WHEN kind = 'grant' THEN 'admin' "
        "WHEN kind = 'release' AND (note = 'expired' OR note LIKE '%: timeout' "
        "OR note LIKE '%: interrupted') THEN 'system' "
        "WHEN api_key_id IS NULL THEN 'dashboard' "
        "ELSE 'api' END"
    )
    _forbid_ledger_edits()


def downgrade() -> None:
    # Dropping columns rebuilds the table on SQLite, which drops its triggers: make them again.
    _allow_ledger_edits()
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        for name in reversed(_WHO):
            batch_op.drop_column(name)
    _forbid_ledger_edits()
    with op.batch_alter_table("holds", schema=None) as batch_op:
        for name in reversed(_WHO):
            batch_op.drop_column(name)
    with op.batch_alter_table("renders", schema=None) as batch_op:
        batch_op.drop_column("project")


# As in the initial schema (a migration never imports another).
def _forbid_ledger_edits() -> None:
    """The ledger is append-only: a correction is a new entry, never an edit."""
    if op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER ledger_entries_no_{action.lower()} BEFORE {action} "
                "ON ledger_entries BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION ledger_entries_append_only() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'ledger_entries is append-only'; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries "
            "FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()"
        )


def _allow_ledger_edits() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_update")
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_append_only ON ledger_entries")
        op.execute("DROP FUNCTION IF EXISTS ledger_entries_append_only()")
