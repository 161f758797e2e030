"""a quantified target's own figure for each month

``target.monthly``: twelve exact figures (January first, null where the month takes the annual
target ÷ 12), from the optional 1月…12月 columns of the targets sheet.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("target", schema=None) as batch_op:
        batch_op.add_column(sa.Column("monthly", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("target", schema=None) as batch_op:
        batch_op.drop_column("monthly")
