"""ratings submitted at the deadline on the person's behalf

``rating.auto_submitted``: a draft with every item answered, whose 提交 was never pressed, is
submitted when its month closes; the result says so.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 23:16:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rating", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("auto_submitted", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("rating", schema=None) as batch_op:
        batch_op.drop_column("auto_submitted")
