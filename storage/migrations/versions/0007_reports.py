"""reports: appeals, bonus bases, the public notice, files in the outbox

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 07:12:31.831356
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "appeal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("cadre_id", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("old_score", sa.String(length=40), nullable=True),
        sa.Column("new_score", sa.String(length=40), nullable=True),
        sa.Column("old_grade", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("new_grade", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["cadre.id"],
        ),
        sa.ForeignKeyConstraint(
            ["cadre_id"],
            ["cadre.id"],
        ),
        sa.ForeignKeyConstraint(
            ["period_id"],
            ["period.id"],
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("period_id", "cadre_id"),
    )
    with op.batch_alter_table("appeal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appeal_cadre_id"), ["cadre_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_appeal_period_id"), ["period_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_appeal_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "bonus_base",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("cadre_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("base", sa.String(length=40), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cadre_id"],
            ["cadre.id"],
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cadre_id", "year"),
    )
    with op.batch_alter_table("bonus_base", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bonus_base_cadre_id"), ["cadre_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bonus_base_unit_id"), ["unit_id"], unique=False)

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("media", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
        batch_op.add_column(sa.Column("payload", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True)
        )

    with op.batch_alter_table("period", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notice_ends_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("finalised_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("period", schema=None) as batch_op:
        batch_op.drop_column("finalised_at")
        batch_op.drop_column("notice_ends_at")

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("filename")
        batch_op.drop_column("payload")
        batch_op.drop_column("media")

    with op.batch_alter_table("bonus_base", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bonus_base_unit_id"))
        batch_op.drop_index(batch_op.f("ix_bonus_base_cadre_id"))

    op.drop_table("bonus_base")
    with op.batch_alter_table("appeal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appeal_unit_id"))
        batch_op.drop_index(batch_op.f("ix_appeal_period_id"))
        batch_op.drop_index(batch_op.f("ix_appeal_cadre_id"))

    op.drop_table("appeal")
