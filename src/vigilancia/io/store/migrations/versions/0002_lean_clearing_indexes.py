"""Leaner clearing writes: no bounding-box index on clearings; overlap rows keyed by their pair.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

A raster batch writes hundreds of thousands of clearings in one transaction, and
every index is updated row by row:

- the composite (minx, maxx, miny, maxy) index of ``clearings`` served no query
  and cost about a quarter of the insert time; the bounding-box columns stay;
- on SQLite, ``clearing_territories`` becomes a WITHOUT ROWID table, so each
  overlap row lives in its primary-key B-tree instead of a rowid table plus a
  separate primary-key index.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_clearings_minx_maxx_miny_maxy", table_name="clearings")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "clearing_territories", recreate="always", table_kwargs={"sqlite_with_rowid": False}
        ):
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "clearing_territories", recreate="always", table_kwargs={"sqlite_with_rowid": True}
        ):
            pass
    op.create_index(
        "ix_clearings_minx_maxx_miny_maxy", "clearings", ["minx", "maxx", "miny", "maxy"]
    )
