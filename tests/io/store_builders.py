"""Builders of the store tests: clearings, batches, territories and placements made by hand.

On pytest's pythonpath (``tests/io``): the store tests import them as ``store_builders``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import fields
from datetime import date

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, box

from vigilancia.domain.clearings import ClearingSet, Placement
from vigilancia.domain.territories import Tenure, Territory, TerritoryKind
from vigilancia.io.store import NewBatch, WorkspaceStore

LON0, LAT0 = -74.9, -9.4


def make_clearings(n: int, *, seed: int = 0, day0: str = "2024-03-01") -> ClearingSet:
    """``n`` realistic clearings scattered around (-74.9, -9.4): boxes of 30-400 m."""
    rng = np.random.default_rng(seed)
    cx = LON0 + rng.uniform(-0.2, 0.2, n)
    cy = LAT0 + rng.uniform(-0.2, 0.2, n)
    w = rng.uniform(0.0003, 0.0036, n)
    h = rng.uniform(0.0003, 0.0036, n)
    geoms = shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    length = np.maximum(w, h) * 110_000.0
    width = np.minimum(w, h) * 110_000.0
    area = length * width / 10_000.0
    perimeter = 2 * (length + width)
    first = np.datetime64(day0) + rng.integers(0, 90, n).astype("timedelta64[D]")
    last = first + rng.integers(0, 30, n).astype("timedelta64[D]")
    low = rng.integers(0, 50, n)
    high = rng.integers(0, 50, n)
    highest = rng.integers(0, 20, n)
    return ClearingSet(
        geometry=np.asarray(geoms, dtype=object),
        area_ha=area,
        perimeter_m=perimeter,
        length_m=length,
        width_m=width,
        orientation_deg=rng.uniform(0, 180, n),
        elongation=length / width,
        compactness=4 * np.pi * area * 10_000 / perimeter**2,
        first_date=first.astype("datetime64[D]"),
        last_date=last.astype("datetime64[D]"),
        pixels_low=low.astype(np.int64),
        pixels_high=high.astype(np.int64),
        pixels_highest=highest.astype(np.int64),
        pixel_count=(low + high + highest).astype(np.int64),
        centroid_lon=cx,
        centroid_lat=cy,
        source_ref=np.array([f"MB-{seed}-{i}" if i % 3 == 0 else None for i in range(n)], object),
    )


def with_odd_rows(cs: ClearingSet) -> ClearingSet:
    """Make row 1 a MultiPolygon with NaN perimeter (vector alert) and row 2 lack a last date."""
    geometry = cs.geometry.copy()
    geometry[1] = MultiPolygon(
        [
            box(LON0, LAT0, LON0 + 0.001, LAT0 + 0.001),
            box(LON0 + 0.002, LAT0, LON0 + 0.003, LAT0 + 0.001),
        ]
    )
    perimeter = cs.perimeter_m.copy()
    perimeter[1] = np.nan
    pixel_count = cs.pixel_count.copy()
    pixel_count[1] = 0
    last = cs.last_date.copy()
    last[2] = np.datetime64("NaT")
    return ClearingSet(
        **{
            **{f.name: getattr(cs, f.name) for f in fields(cs)},
            "geometry": geometry,
            "perimeter_m": perimeter,
            "pixel_count": pixel_count,
            "last_date": last,
        }
    )


def new_batch(key: str = "gfw-integrated:2024-03:high:abc", **kw: object) -> NewBatch:
    values: dict[str, object] = dict(
        key=key,
        source="/data/alerts/integrated_20240301.tif",
        product="gfw_integrated",
        since=date(2024, 3, 1),
        until=date(2024, 5, 31),
        min_confidence="high",
        sha256="a" * 64,
        n_pixels=12345,
        n_clearings=5,
        area_ha=42.5,
        stats={"tiles": 2, "skipped": [], "nota": "Unión"},
    )
    values.update(kw)
    return NewBatch(**values)  # type: ignore[arg-type]


def make_territories() -> list[Territory]:
    return [
        Territory(
            name="CN Unión Santa Rosa",
            kind=TerritoryKind.COMMUNITY,
            geometry=box(-74.95, -9.45, -74.90, -9.40),
            source="comunidades.gpkg",
            source_id="12",
            people="Kakataibo",
            tenure=Tenure.TITLED,
            title_date=date(1998, 5, 4),
            attributes={"ubigeo": "250302", "resolucion": "RD 045-98"},
        ),
        Territory(
            name="CN Yamino",
            kind=TerritoryKind.COMMUNITY,
            geometry=box(-74.90, -9.45, -74.85, -9.40),
            source="comunidades.gpkg",
            source_id="13",
            people="Kakataibo",
            tenure=Tenure.CLAIMED,
        ),
        Territory(
            name="RI Kakataibo Norte y Sur",
            kind=TerritoryKind.RESERVE,
            geometry=box(-74.95, -9.50, -74.85, -9.45),
            source="reservas.gpkg",
        ),
        Territory(
            name="PN Cordillera Azul",
            kind=TerritoryKind.PROTECTED_AREA,
            geometry=box(-75.0, -9.5, -74.8, -9.35),
            source="sernanp.gpkg",
        ),
    ]


def make_placement(
    n: int, overlaps: list[tuple[int, int, float, float]], **per: object
) -> Placement:
    p = Placement.empty(n)
    oc, ot, oa, osh = (
        (list(v) for v in zip(*overlaps, strict=True)) if overlaps else ([], [], [], [])
    )
    return Placement(
        overlap_clearing=np.array(oc, np.int64),
        overlap_territory=np.array(ot, np.int64),
        overlap_area_ha=np.array(oa, np.float64),
        overlap_share=np.array(osh, np.float64),
        nearest_territory=np.asarray(per.get("nearest", p.nearest_territory), np.int64),
        boundary_distance_m=np.asarray(per.get("distance", p.boundary_distance_m), np.float64),
        within_buffer=np.asarray(per.get("within", p.within_buffer), bool),
    )


def nulls(values) -> list:
    """Values of a column with every missing marker (None, NaN, NA) as None."""
    return [None if pd.isna(v) else v for v in values]


def raw(store: WorkspaceStore) -> sqlite3.Connection:
    """A plain sqlite3 connection to the workspace file (SQLite backend only)."""
    assert store.is_sqlite
    return sqlite3.connect(store.database_path(store.dir))


def query(store: WorkspaceStore, sql: str) -> list[tuple]:
    """Rows of a plain SQL query on a connection of its own (no SQLAlchemy type processing)."""
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql).all()]


def schema_snapshot(store: WorkspaceStore) -> list[tuple]:
    """Every table, column, index and foreign key of the workspace, as the database reports it."""
    if store.is_sqlite:
        return query(store, "SELECT type, name, sql FROM sqlite_master ORDER BY name")
    return query(
        store,
        "SELECT table_name, column_name, data_type, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_schema = current_schema() "
        "ORDER BY table_name, column_name",
    ) + query(
        store,
        "SELECT tablename, indexname, indexdef FROM pg_indexes "
        "WHERE schemaname = current_schema() ORDER BY indexname",
    ) + query(
        store,
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = current_schema()::regnamespace ORDER BY conname",
    )


def use_path(store: WorkspaceStore, fast: bool) -> None:
    """Write straight through the driver (``fast``: sqlite3 executemany, psycopg COPY)
    or through SQLAlchemy Core."""
    store.db.fast_bulk = fast


def stored_world(store: WorkspaceStore, *, inline: bool = True):
    """Four territories and two batches with hand-made placements (see test_territory_summary)."""
    with store.transaction() as conn:
        a, b, r, p = store.territories.add(conn, make_territories())
        cs1 = make_clearings(5, seed=11)
        cs1 = ClearingSet(
            **{
                **{f.name: getattr(cs1, f.name) for f in fields(cs1)},
                "first_date": np.array(
                    ["2024-03-05", "2024-03-01", "2024-04-10", "2024-02-01", "2024-05-02"],
                    "datetime64[D]",
                ),
                "last_date": np.array(
                    ["2024-03-20", "2024-03-09", "2024-04-30", "2024-02-03", "2024-05-02"],
                    "datetime64[D]",
                ),
            }
        )
        pl1 = make_placement(
            5,
            [
                (0, a, 2.0, 1.0),
                (0, p, 2.0, 1.0),
                (1, a, 1.0, 0.5),
                (1, b, 1.0, 0.5),
                (1, p, 2.0, 1.0),
                (2, b, 3.0, 1.0),
                (2, p, 3.0, 1.0),
                (4, r, 0.5, 1.0),
            ],
            nearest=[a, a, b, a, -1],
            distance=[0.0, 0.0, 0.0, 1200.0, np.nan],
            within=[True, True, True, True, False],
        )
        cs2 = make_clearings(2, seed=12)
        cs2 = ClearingSet(
            **{
                **{f.name: getattr(cs2, f.name) for f in fields(cs2)},
                "first_date": np.array(["2024-06-01", "2024-01-15"], "datetime64[D]"),
                "last_date": np.array(["2024-06-11", "2024-07-01"], "datetime64[D]"),
            }
        )
        pl2 = make_placement(
            2,
            [(0, a, 5.0, 1.0), (1, r, 1.0, 0.25)],
            nearest=[a, r],
            distance=[0.0, 0.0],
            within=[True, True],
        )
        b1 = store.batches.add(conn, new_batch("b1"))
        b2 = store.batches.add(conn, new_batch("b2"))
        if inline:
            ids1 = store.clearings.add(conn, b1, cs1, pl1)
            ids2 = store.clearings.add(conn, b2, cs2, pl2)
        else:
            ids1 = store.clearings.add(conn, b1, cs1)
            ids2 = store.clearings.add(conn, b2, cs2)
            store.clearings.set_placement(conn, ids1, pl1)
            store.clearings.set_placement(conn, ids2, pl2)
    return {"a": a, "b": b, "r": r, "p": p, "b1": b1, "b2": b2, "ids1": ids1, "ids2": ids2}
