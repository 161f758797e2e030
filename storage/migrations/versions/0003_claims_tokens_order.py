"""update claims per bot, office record tokens, roster order

* ``processed_update`` is keyed by (bot, update id): update ids are each bot's own sequence, and a
  county's towns may share one database. Rows from before carry bot 0.
* ``discipline_record`` and ``bonus_entry`` keep the confirmed flow's token, unique per unit and
  person, so a confirmation retried after a crash cannot write a record twice.
* ``cadre.position`` is the person's place in the roster file (rank within the department).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:21:18.136064
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("bonus_entry", "discipline_record"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("draft_token", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
            )
            batch_op.create_unique_constraint(
                f"uq_{table}_draft_token", ["unit_id", "draft_token", "cadre_id"]
            )

    with op.batch_alter_table("cadre", schema=None) as batch_op:
        batch_op.add_column(sa.Column("position", sa.Integer(), nullable=False, server_default="0"))

    # A new primary key: the table is rebuilt (the same way on both backends) and its rows kept.
    _rebuild_processed_update(["bot_id", "update_id"], "0")


def downgrade() -> None:
    op.execute("DELETE FROM processed_update WHERE bot_id <> 0")
    _rebuild_processed_update(["update_id"], None)
    with op.batch_alter_table("cadre", schema=None) as batch_op:
        batch_op.drop_column("position")
    for table in ("discipline_record", "bonus_entry"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"uq_{table}_draft_token", type_="unique")
            batch_op.drop_column("draft_token")


def _rebuild_processed_update(key: list[str], bot_default: str | None) -> None:
    """Rebuild ``processed_update`` with ``key`` as its primary key, keeping its rows."""
    columns = [
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    ]
    if bot_default is not None:
        columns.insert(
            0,
            sa.Column(
                "bot_id",
                sa.BigInteger(),
                autoincrement=False,
                nullable=False,
                server_default=bot_default,
            ),
        )
    op.create_table(
        "processed_update_new", *columns, sa.PrimaryKeyConstraint(*key, name="pk_processed_update")
    )
    op.execute(
        "INSERT INTO processed_update_new (update_id, at) "
        "SELECT update_id, at FROM processed_update"
    )
    op.drop_index("ix_processed_update_at", table_name="processed_update")
    op.drop_table("processed_update")
    op.rename_table("processed_update_new", "processed_update")
    op.create_index("ix_processed_update_at", "processed_update", ["at"], unique=False)
