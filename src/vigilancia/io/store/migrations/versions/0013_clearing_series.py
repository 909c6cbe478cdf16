"""The clearings of a product as one series across downloads, and the steps of each batch.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

Alert products are cumulative: each download holds every earlier alert, and
pixels are confirmed later. A new batch of a product is reconciled against the
clearings already stored for it, instead of adding them again:

- ``clearings.anchor_lon``/``anchor_lat``: a point inside the footprint (the
  centre of a raster clearing's first pixel, top row and leftmost), how a later
  download finds the clearing again; filled here for the raster clearings already
  stored (the corner of their first pixel where the polygon follows a lon/lat
  grid, else a point on the polygon's surface);
- ``clearing_history``: what a clearing was (footprint, dates, confidence, the
  batch it came from) before a later batch changed it;
- ``clearing_aliases``: the ids of clearings that new pixels joined to another,
  and the clearing each one now is;
- ``alert_batches.series``: the series a batch belongs to (its product unless
  named); ``alert_batches.steps``: the steps of the run that have finished
  (``ingest``, ``placement``, ``classification``), so that a re-run finishes what
  a killed one left. Batches stored earlier finished ingest and placement, and
  classification where every clearing has a driver.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: Clearings whose anchors are computed per query when filling them.
_CHUNK = 20_000
#: How far inside its first pixel (degrees) the anchor of a lon/lat-grid polygon is put.
_INSIDE = 1e-7


def upgrade() -> None:
    op.add_column("alert_batches", sa.Column("series", sa.String(64), nullable=True))
    op.add_column("alert_batches", sa.Column("steps", sa.JSON, nullable=True))
    op.add_column("clearings", sa.Column("anchor_lon", sa.Float, nullable=True))
    op.add_column("clearings", sa.Column("anchor_lat", sa.Float, nullable=True))
    op.create_table(
        "clearing_history",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("clearing_id", BigId, nullable=False),
        sa.Column("batch_id", sa.Integer, nullable=False),
        sa.Column("previous_batch_id", sa.Integer, nullable=True),
        sa.Column("change", sa.String(64), nullable=False),
        sa.Column("merged_into", BigId, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_date", sa.Date, nullable=True),
        sa.Column("last_date", sa.Date, nullable=True),
        sa.Column("area_ha", sa.Float, nullable=True),
        sa.Column("pixels_low", sa.BigInteger, nullable=False),
        sa.Column("pixels_high", sa.BigInteger, nullable=False),
        sa.Column("pixels_highest", sa.BigInteger, nullable=False),
        sa.Column("pixel_count", sa.BigInteger, nullable=False),
        sa.Column("geometry", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_clearing_history"),
    )
    op.create_index("ix_clearing_history_clearing_id", "clearing_history", ["clearing_id"])
    op.create_table(
        "clearing_aliases",
        sa.Column("old_id", BigId, nullable=False, autoincrement=False),
        sa.Column("clearing_id", BigId, nullable=False),
        sa.Column("batch_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("old_id", name="pk_clearing_aliases"),
    )
    op.create_index("ix_clearing_aliases_clearing_id", "clearing_aliases", ["clearing_id"])
    conn = op.get_bind()
    _fill_batches(conn)
    _fill_anchors(conn)


def _fill_batches(conn: sa.engine.Connection) -> None:
    batches = sa.table(
        "alert_batches", sa.column("id", sa.Integer), sa.column("product", sa.String),
        sa.column("series", sa.String), sa.column("steps", sa.JSON),
    )
    clearings = sa.table(
        "clearings", sa.column("batch_id", sa.Integer), sa.column("driver", sa.String)
    )
    unclassified = {
        int(v) for v in conn.execute(
            sa.select(clearings.c.batch_id).where(clearings.c.driver.is_(None)).distinct()
        ).scalars()
    }
    for batch_id, product in conn.execute(sa.select(batches.c.id, batches.c.product)).all():
        steps = ["ingest", "placement"]
        if int(batch_id) not in unclassified:
            steps.append("classification")
        conn.execute(
            sa.update(batches).where(batches.c.id == batch_id).values(series=product, steps=steps)
        )


def anchors_of(geometries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A point inside each footprint: just inside the top-left corner of its first pixel
    where every edge runs along a lon/lat grid line, else a point on its surface."""
    n = len(geometries)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    if n == 0:
        return lon, lat
    xy, index = shapely.get_coordinates(geometries, return_index=True)
    if len(xy) == 0:
        return lon, lat
    step = np.diff(xy, axis=0)
    same = index[1:] == index[:-1]
    slanted = same & (np.abs(step[:, 0]) > 0) & (np.abs(step[:, 1]) > 0)
    gridded = np.bincount(index[1:][slanted], minlength=n) == 0
    # the top vertex (largest lat), the leftmost of those (smallest lon): per geometry
    order = np.lexsort((xy[:, 0], -xy[:, 1], index))
    first = order[np.flatnonzero(np.r_[True, index[order][1:] != index[order][:-1]])]
    owners = index[first]
    lon[owners] = xy[first, 0] + _INSIDE
    lat[owners] = xy[first, 1] - _INSIDE
    other = np.flatnonzero(~gridded | np.isnan(lon))
    if len(other):
        points = shapely.point_on_surface(geometries[other])
        lon[other] = shapely.get_x(points)
        lat[other] = shapely.get_y(points)
    return lon, lat


def _fill_anchors(conn: sa.engine.Connection) -> None:
    clearings = sa.table(
        "clearings", sa.column("id", BigId), sa.column("pixel_count", sa.BigInteger),
        sa.column("geometry", sa.LargeBinary), sa.column("anchor_lon", sa.Float),
        sa.column("anchor_lat", sa.Float),
    )
    last = 0
    stmt = sa.update(clearings).where(clearings.c.id == sa.bindparam("b_id")).values(
        anchor_lon=sa.bindparam("b_lon"), anchor_lat=sa.bindparam("b_lat"))
    while True:
        rows = conn.execute(
            sa.select(clearings.c.id, clearings.c.geometry)
            .where(clearings.c.pixel_count > 0, clearings.c.id > last)
            .order_by(clearings.c.id).limit(_CHUNK)
        ).all()
        if not rows:
            return
        last = int(rows[-1][0])
        geoms = np.asarray(shapely.from_wkb([bytes(r[1]) for r in rows]), dtype=object)
        lon, lat = anchors_of(geoms)
        values = [
            {"b_id": int(r[0]), "b_lon": float(x), "b_lat": float(y)}
            for r, x, y in zip(rows, lon.tolist(), lat.tolist(), strict=True)
            if np.isfinite(x) and np.isfinite(y)
        ]
        if values:
            conn.execute(stmt, values)


def downgrade() -> None:
    op.drop_index("ix_clearing_aliases_clearing_id", table_name="clearing_aliases")
    op.drop_table("clearing_aliases")
    op.drop_index("ix_clearing_history_clearing_id", table_name="clearing_history")
    op.drop_table("clearing_history")
    # plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): recreating the tables would
    # cascade the deletion of their rows to the tables that refer to them
    for table, column in (("clearings", "anchor_lat"), ("clearings", "anchor_lon"),
                          ("alert_batches", "steps"), ("alert_batches", "series")):
        op.drop_column(table, column)
