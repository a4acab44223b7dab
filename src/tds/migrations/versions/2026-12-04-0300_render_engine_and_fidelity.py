"""renders: the engine that made each one, its fidelity score, and the minimum asked for

Revision ID: 9d4b7e21c3a8
Revises: 6c1e2f9a4b70
Create Date: 2026-12-04 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "9d4b7e21c3a8"
down_revision = "6c1e2f9a4b70"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("renders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("min_fidelity", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("engine", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("fidelity_score", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("renders", schema=None) as batch_op:
        batch_op.drop_column("fidelity_score")
        batch_op.drop_column("engine")
        batch_op.drop_column("min_fidelity")
