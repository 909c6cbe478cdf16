"""Territories of the workspace: community territories, reserves, protected areas, districts.

``store.territories`` stores them with their polygons (EPSG:4326) and an area
computed on an equal-area projection (ha), and reads them back as
:class:`~vigilancia.domain.territories.StoredTerritory`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa
from numpy.typing import NDArray
from sqlalchemy.engine import Connection

from vigilancia.domain.territories import StoredTerritory, Tenure, Territory, TerritoryKind
from vigilancia.io.crs import WGS84, local_equal_area, transform_geometries
from vigilancia.io.store import schema as s
from vigilancia.io.store.repository import (
    Repository,
    in_chunks,
    insert_rows,
    next_id,
    require_tx,
)


class TerritoryRepository(Repository):
    """``store.territories``: the territories and their polygons."""

    def add(self, conn: Connection, territories: list[Territory]) -> list[int]:
        """Store territories; returns their ids in order. ``area_ha`` is computed (equal-area)."""
        require_tx(conn)
        if not territories:
            return []
        start = next_id(conn, s.territories)
        ids = list(range(start, start + len(territories)))
        insert_rows(conn, s.territories, _rows(ids, territories))
        return ids

    def update(self, conn: Connection, changes: Mapping[int, Territory]) -> None:
        """Replace stored territories in place, by id (name, kind, polygon, attributes...):
        what refers to them (cases, patrol plans, placements) keeps referring to them."""
        require_tx(conn)
        if not changes:
            return
        ids = [int(v) for v in changes]
        t = s.territories
        for row in _rows(ids, list(changes.values())):
            tid = row.pop("id")
            result = conn.execute(sa.update(t).where(t.c.id == tid).values(**row))
            if result.rowcount != 1:
                raise ValueError(f"no territory with id {tid}")

    def remove(self, conn: Connection, ids: Iterable[int]) -> int:
        """Delete territories by id; returns how many were deleted. The database lets go of
        what refers to them: their overlap rows and patrol plans go, clearings lose them as
        nearest territory, cases and risk scores keep no territory (the caller re-places
        the clearings and re-homes the cases first)."""
        require_tx(conn)
        wanted = sorted({int(v) for v in ids})
        t = s.territories
        removed = 0
        for chunk in in_chunks(wanted):
            removed += conn.execute(sa.delete(t).where(t.c.id.in_(chunk))).rowcount or 0
        return removed

    def version(self, *, conn: Connection | None = None) -> str:
        """Cheap fingerprint of the territory table ("count:max_id") for caching derived indexes."""
        t = s.territories
        with self.db.reader(conn) as c:
            n, top = c.execute(sa.select(sa.func.count(t.c.id), sa.func.max(t.c.id))).one()
        return f"{n}:{top or 0}"

    def extent(self, *, conn: Connection | None = None) -> tuple[float, float, float, float] | None:
        """Bounds (minx, miny, maxx, maxy, lon/lat) of every stored territory; None when none."""
        t = s.territories
        stmt = sa.select(sa.func.min(t.c.minx), sa.func.min(t.c.miny), sa.func.max(t.c.maxx),
                         sa.func.max(t.c.maxy))
        with self.db.reader(conn) as c:
            row = c.execute(stmt).one()
        if row[0] is None:
            return None
        return float(row[0]), float(row[1]), float(row[2]), float(row[3])

    def count_by_kind(self, *, conn: Connection | None = None) -> dict[TerritoryKind, int]:
        """Number of stored territories per kind (kinds without territories left out)."""
        t = s.territories
        stmt = sa.select(t.c.kind, sa.func.count(t.c.id)).group_by(t.c.kind)
        with self.db.reader(conn) as c:
            return {TerritoryKind(kind): int(n) for kind, n in c.execute(stmt).all()}

    # (``list`` comes last: below it, the name would mean this method in annotations)
    def list(
        self, kinds: Iterable[TerritoryKind] | None = None, *, conn: Connection | None = None
    ) -> list[StoredTerritory]:
        """Stored territories (all, or those of ``kinds``), ordered by id."""
        t = s.territories
        stmt = sa.select(
            t.c.id,
            t.c.name,
            t.c.kind,
            t.c.geometry,
            t.c.source,
            t.c.source_id,
            t.c.people,
            t.c.tenure,
            t.c.title_date,
            t.c.area_ha,
            t.c.attributes,
        ).order_by(t.c.id)
        if kinds is not None:
            stmt = stmt.where(t.c.kind.in_([TerritoryKind(k).value for k in kinds]))
        with self.db.reader(conn) as c:
            rows = c.execute(stmt).all()
        if not rows:
            return []
        geoms = shapely.from_wkb(np.array([r.geometry for r in rows], dtype=object))
        return [
            StoredTerritory(
                id=r.id,
                name=r.name,
                kind=TerritoryKind(r.kind),
                geometry=g,
                source=r.source,
                source_id=r.source_id,
                people=r.people,
                tenure=Tenure(r.tenure),
                title_date=r.title_date,
                area_ha=r.area_ha,
                attributes=r.attributes,
            )
            for r, g in zip(rows, geoms, strict=True)
        ]


def _rows(ids: list[int], territories: list[Territory]) -> list[dict[str, Any]]:
    """The table rows of ``territories`` with ``ids``: area (ha, equal-area) and bounds
    computed, polygon as WKB."""
    geoms = np.array([t.geometry for t in territories], dtype=object)
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if bad.any():
        raise ValueError(f"territory {territories[int(np.argmax(bad))].name!r} has no geometry")
    area_ha = equal_area_ha(geoms)
    bounds = shapely.bounds(geoms)
    wkb = shapely.to_wkb(geoms)
    return [
        {
            "id": tid,
            "name": t.name,
            "kind": TerritoryKind(t.kind).value,
            "people": t.people,
            "tenure": Tenure(t.tenure).value,
            "title_date": t.title_date,
            "area_ha": float(area_ha[i]),
            "source": t.source,
            "source_id": t.source_id,
            "attributes": dict(t.attributes) if t.attributes else None,
            "geometry": wkb[i],
            "minx": float(bounds[i, 0]),
            "miny": float(bounds[i, 1]),
            "maxx": float(bounds[i, 2]),
            "maxy": float(bounds[i, 3]),
        }
        for i, (tid, t) in enumerate(zip(ids, territories, strict=True))
    ]


def equal_area_ha(geoms: NDArray[np.object_]) -> NDArray[np.float64]:
    """Areas (ha) in a local Lambert equal-area frame, one frame per 1-degree cell of centres."""
    bounds = shapely.bounds(geoms)
    lon0 = np.round((bounds[:, 0] + bounds[:, 2]) / 2)
    lat0 = np.round((bounds[:, 1] + bounds[:, 3]) / 2)
    out = np.empty(len(geoms), np.float64)
    cells = np.column_stack([lon0, lat0])
    for lon, lat in np.unique(cells, axis=0):
        sel = (lon0 == lon) & (lat0 == lat)
        projected = transform_geometries(
            geoms[sel], WGS84, local_equal_area(float(lon), float(lat))
        )
        out[sel] = shapely.area(projected) / 10_000.0
    return out
