"""renders.style is named architectural_style, as in the API and the engine's options

Revision ID: 6c1e2f9a4b70
Revises: a316d77bb6f8
Create Date: 2026-12-04 02:15:00
"""

from __future__ import annotations

from alembic import op

revision = "6c1e2f9a4b70"
down_revision = "a316d77bb6f8"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("renders", schema=None) as batch_op:
        batch_op.alter_column("style", new_column_name="architectural_style")


def downgrade() -> None:
    with op.batch_alter_table("renders", schema=None) as batch_op:
        batch_op.alter_column("architectural_style", new_column_name="style")
