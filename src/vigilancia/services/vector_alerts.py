"""Vector alerts (MapBiomas Alerta and the like) as clearings, and placement of clearings.

Three use cases:

- :func:`clearings_from_vector_alerts` turns the alerts of a detection-date
  window into a :class:`~vigilancia.domain.clearings.ClearingSet` with shape
  features measured in a local equal-area frame (metres, hectares);
- :func:`place_clearings` places any clearings (vector or raster) against
  stored territories: overlaps with every territory, and the nearest community
  or reserve boundary with the buffer test;
- :func:`reconcile_vector` writes a batch of vector alerts into its series: an
  alert keeps its code from one download to the next, so an alert already stored
  is left as it is (or updated in place when its date, area or outline changed)
  and only new alerts are added.

>>> from vigilancia.io.sources.mapbiomas import read_vector_alerts  # doctest: +SKIP
>>> alerts = read_vector_alerts("mapbiomas_alerta_peru_2021_2024.parquet")  # doctest: +SKIP
>>> clearings = clearings_from_vector_alerts(alerts, since=date(2024, 1, 1))  # doctest: +SKIP
>>> placement = place_clearings(clearings, territories, buffer_m=5000)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from sqlalchemy.engine import Connection

from vigilancia.domain.clearings import ClearingSet, Placement
from vigilancia.domain.placement import Overlaps, place
from vigilancia.domain.series import NewValues, decide_codes, match_codes
from vigilancia.domain.territories import StoredTerritory, TerritoryKind
from vigilancia.io.crs import WGS84, centre_of, local_equal_area, transform_geometries
from vigilancia.io.store import WorkspaceStore
from vigilancia.services.series import SeriesCounts, SeriesWriter, TerritoryTally

if TYPE_CHECKING:  # the reader (and pandas) load only when vector alerts are read
    from vigilancia.io.sources.mapbiomas import VectorAlerts

FloatArray = NDArray[np.float64]

#: Territory kinds that count for the nearest boundary and the buffer test.
NEAREST_KINDS = frozenset({TerritoryKind.COMMUNITY, TerritoryKind.RESERVE})

__all__ = [
    "NEAREST_KINDS",
    "clearings_from_vector_alerts",
    "place_clearings",
    "place_shapes",
    "point_only",
    "reconcile_vector",
    "shape_features",
    "vector_frame",
]


def clearings_from_vector_alerts(
    alerts: VectorAlerts, *, since: date | None = None, until: date | None = None
) -> ClearingSet:
    """Clearings for the alerts detected between ``since`` and ``until`` (both inclusive).

    Geometries stay in EPSG:4326; features are measured in
    ``local_equal_area(centre of the alerts' bounds)``:

    - ``area_ha``: as published in the file, else the polygon's area (NaN for
      an alert known only by a box or a point and no published area);
    - ``perimeter_m``, ``length_m``, ``width_m``, ``orientation_deg``,
      ``elongation``, ``compactness``: from the real polygon (see
      :func:`shape_features`); NaN for box- or point-only alerts, whose
      box says nothing about the clearing's shape;
    - ``first_date`` = ``last_date`` = detection date; pixel counts 0;
    - ``centroid_lon``/``centroid_lat``: the alert's point;
    - ``source_ref``: the alert code.
    """
    keep = np.ones(len(alerts), bool)
    if since is not None:
        keep &= alerts.detected >= np.datetime64(since, "D")
    if until is not None:
        keep &= alerts.detected <= np.datetime64(until, "D")
    sel = alerts.take(np.flatnonzero(keep))
    n = len(sel)
    if n == 0:
        return ClearingSet.empty()

    crs = local_equal_area(*centre_of(sel.bounds()))
    real = np.flatnonzero(~sel.geometry_is_bbox)
    nanf = np.full(n, np.nan)
    area_ha, perimeter, length, width, orient, elong, compact = (nanf.copy() for _ in range(7))
    if len(real):
        polys_m = transform_geometries(sel.geometry[real], WGS84, crs)
        f = shape_features(polys_m)
        area_ha[real] = f["area_ha"]
        perimeter[real] = f["perimeter_m"]
        length[real] = f["length_m"]
        width[real] = f["width_m"]
        orient[real] = f["orientation_deg"]
        elong[real] = f["elongation"]
        compact[real] = f["compactness"]
    published = ~np.isnan(sel.area_ha)
    area_ha[published] = sel.area_ha[published]

    zeros = np.zeros(n, np.int64)
    detected = sel.detected.astype("datetime64[D]")
    return ClearingSet(
        geometry=np.asarray(sel.geometry, dtype=object),
        area_ha=area_ha,
        perimeter_m=perimeter,
        length_m=length,
        width_m=width,
        orientation_deg=orient,
        elongation=elong,
        compactness=compact,
        first_date=detected.copy(),
        last_date=detected.copy(),
        pixels_low=zeros.copy(),
        pixels_high=zeros.copy(),
        pixels_highest=zeros.copy(),
        pixel_count=zeros.copy(),
        centroid_lon=np.asarray(shapely.get_x(sel.point), dtype=np.float64),
        centroid_lat=np.asarray(shapely.get_y(sel.point), dtype=np.float64),
        source_ref=np.asarray(sel.code, dtype=object),
    )


def shape_features(polygons_m: ArrayLike) -> dict[str, FloatArray]:
    """Shape features of polygons given in a metric CRS (metres; y = north).

    Returns arrays ``area_ha``, ``perimeter_m`` (all rings), ``length_m`` and
    ``width_m`` (long and short sides of the minimum rotated rectangle),
    ``orientation_deg`` (direction of the long side, degrees clockwise from
    north in [0, 180)), ``elongation`` = length / width and ``compactness`` =
    4 pi A / P^2. Degenerate shapes (no area) get NaN where a value is undefined.

    >>> f = shape_features([shapely.box(0, 0, 300, 100)])
    >>> [round(float(f[k][0]), 3) for k in ("area_ha", "length_m", "width_m", "orientation_deg")]
    [3.0, 300.0, 100.0, 90.0]
    """
    geoms = np.asarray(polygons_m, dtype=object).reshape(-1)
    n = len(geoms)
    area = np.asarray(shapely.area(geoms), dtype=np.float64)
    perimeter = np.asarray(shapely.length(geoms), dtype=np.float64)
    length = np.full(n, np.nan)
    width = np.full(n, np.nan)
    orient = np.full(n, np.nan)
    if n:
        rect = shapely.oriented_envelope(geoms)
        coords, idx = shapely.get_coordinates(rect, return_index=True)
        counts = np.bincount(idx, minlength=n)
        start = np.cumsum(counts) - counts
        ok = np.flatnonzero((counts == 5) & (area > 0))
        p0, p1, p2 = coords[start[ok]], coords[start[ok] + 1], coords[start[ok] + 2]
        e1, e2 = p1 - p0, p2 - p1
        l1, l2 = np.hypot(e1[:, 0], e1[:, 1]), np.hypot(e2[:, 0], e2[:, 1])
        first_long = l1 >= l2
        long_edge = np.where(first_long[:, None], e1, e2)
        length[ok] = np.where(first_long, l1, l2)
        width[ok] = np.where(first_long, l2, l1)
        deg = np.mod(np.degrees(np.arctan2(long_edge[:, 0], long_edge[:, 1])), 180.0)
        orient[ok] = np.where(deg >= 180.0, 0.0, deg)
    with np.errstate(divide="ignore", invalid="ignore"):
        elongation = np.where(width > 0, length / width, np.nan)
        compactness = np.where(perimeter > 0, 4 * np.pi * area / perimeter**2, np.nan)
    return {
        "area_ha": area / 1e4,
        "perimeter_m": np.where(area > 0, perimeter, np.nan),
        "length_m": length,
        "width_m": width,
        "orientation_deg": orient,
        "elongation": elongation,
        "compactness": np.where(area > 0, compactness, np.nan),
    }


def point_only(perimeter_m: ArrayLike, pixel_count: ArrayLike) -> NDArray[np.bool_]:
    """Which clearings count by their point: vector alerts known only by a box or a point
    (NaN perimeter and no pixels; also a polygon of no area)."""
    return np.asarray(np.isnan(np.asarray(perimeter_m, np.float64))
                      & (np.asarray(pixel_count) == 0), bool)


def vector_frame(
    shapes: ArrayLike, lon: ArrayLike, lat: ArrayLike
) -> tuple[float, float]:
    """The centre (lon, lat) of the local equal-area frame clearings are placed in: the
    centre of their bounds (of their points where no geometry has any), rounded as
    :func:`~vigilancia.io.crs.centre_of` rounds. A batch keeps it (``stats["frame"]``),
    so that re-placing some of its clearings measures them as the ingest did."""
    bounds = shapely.total_bounds(np.asarray(shapes, dtype=object))
    if not np.isfinite(bounds).all():
        x = np.asarray(lon, np.float64)
        y = np.asarray(lat, np.float64)
        bounds = np.array([np.nanmin(x), np.nanmin(y), np.nanmax(x), np.nanmax(y)])
    return centre_of((float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3])))


def place_clearings(
    clearings: ClearingSet,
    territories: Sequence[StoredTerritory],
    *,
    buffer_m: float,
    use_point: ArrayLike | None = None,
    overlaps: Overlaps | None = None,
    frame: tuple[float, float] | None = None,
) -> Placement:
    """Place ``clearings`` against stored ``territories`` in one local equal-area frame.

    - Overlaps (areas in ha, shares of each clearing's area) are computed
      against every territory, whatever its kind, by exact polygon overlap;
      clearings where ``use_point`` is True count by their point
      (``centroid_lon``/``centroid_lat``) instead, with share 1 in each
      territory that strictly contains it. By default ``use_point`` marks the
      vector alerts known only by a box (:func:`point_only`).
    - The nearest boundary (m) and ``within_buffer`` (inside, or within
      ``buffer_m`` metres) count only community and reserve territories
      (:data:`NEAREST_KINDS`).

    ``overlaps``: pre-computed ``(clearing position, territory id, area_ha,
    share)`` arrays (the raster pipeline counts pixel centres itself); when
    given they are returned unchanged and only the nearest boundary and the
    buffer are computed. ``frame``: the centre (lon, lat) of the equal-area
    frame (default :func:`vector_frame` of these clearings).
    """
    n = len(clearings)
    if n == 0:
        return Placement.empty(0)
    if use_point is None:
        flag = point_only(clearings.perimeter_m, clearings.pixel_count)
    else:
        flag = np.asarray(use_point, bool).reshape(-1)
        if len(flag) != n:
            raise ValueError(f"use_point has {len(flag)} items for {n} clearings")
    return place_shapes(
        clearings.shapes(), clearings.area_ha, clearings.centroid_lon, clearings.centroid_lat,
        territories, buffer_m=buffer_m, use_point=flag, overlaps=overlaps, frame=frame,
    )


def place_shapes(
    shapes: ArrayLike,
    area_ha: ArrayLike,
    lon: ArrayLike,
    lat: ArrayLike,
    territories: Sequence[StoredTerritory],
    *,
    buffer_m: float,
    use_point: ArrayLike,
    overlaps: Overlaps | None = None,
    frame: tuple[float, float] | None = None,
) -> Placement:
    """:func:`place_clearings` of clearings given as columns: their geometries (EPSG:4326),
    areas (ha), points (``lon``/``lat``) and which count by their point. Each clearing is
    placed on its own, so placing some of a batch's clearings in the batch's ``frame``
    gives them what placing the whole batch gave."""
    geoms_in = np.asarray(shapes, dtype=object).reshape(-1)
    n = len(geoms_in)
    if n == 0:
        return Placement.empty(0)
    lon = np.asarray(lon, np.float64)
    lat = np.asarray(lat, np.float64)
    flag = np.asarray(use_point, bool).reshape(-1)
    # (in the order that breaks a tie of nearest boundaries)
    territories = sorted(territories, key=lambda t: t.nearest_order)
    ids = np.array([t.id for t in territories], dtype=np.int64)
    geoms = np.empty(len(territories), dtype=object)
    geoms[:] = [t.geometry for t in territories]
    near = np.array([t.kind in NEAREST_KINDS for t in territories], dtype=bool)
    bounds = shapely.total_bounds(geoms_in)
    if not np.isfinite(bounds).all():
        bounds = np.array([np.nanmin(lon), np.nanmin(lat), np.nanmax(lon), np.nanmax(lat)])
    if overlaps is None and len(geoms):
        # territories away from every clearing cannot overlap one
        tb = shapely.bounds(geoms)
        reach = ~(
            (tb[:, 0] > bounds[2]) | (tb[:, 2] < bounds[0])
            | (tb[:, 1] > bounds[3]) | (tb[:, 3] < bounds[1])
        )
        relevant = near | reach
    else:
        relevant = near.copy()
    relevant &= ~shapely.is_missing(geoms)

    centre = frame if frame is not None else vector_frame(geoms_in, lon, lat)
    crs = local_equal_area(float(centre[0]), float(centre[1]))
    clearings_m = transform_geometries(geoms_in, WGS84, crs)
    territories_m = transform_geometries(geoms[relevant], WGS84, crs)
    points_m = None
    if flag.any():
        idx = np.flatnonzero(flag)
        points_m = np.full(n, None, dtype=object)
        pts = shapely.points(lon[idx], lat[idx])
        points_m[idx] = transform_geometries(pts, WGS84, crs)
    return place(
        clearings_m,
        ids[relevant],
        territories_m,
        buffer_m=buffer_m,
        nearest_mask=near[relevant],
        points_m=points_m,
        use_point=flag,
        area_ha=np.asarray(area_ha, np.float64),
        overlaps=overlaps,
    )


def reconcile_vector(
    store: WorkspaceStore,
    conn: Connection,
    batch_id: int,
    series: str,
    clearings: ClearingSet,
    *,
    buffer_m: float,
    frame: tuple[float, float] | None,
    tally: TerritoryTally,
) -> tuple[SeriesCounts, set[int]]:
    """Write the vector alerts ``clearings`` into batch ``batch_id`` of ``series``: alerts
    whose code is stored already are left as they are or updated in place, new ones are
    added; both are placed on the territories in the batch's equal-area ``frame``
    (:func:`vector_frame` of all of ``clearings``, which the batch records), so that each
    gets the placement a fresh ingest of the whole file gives it. Returns what the batch
    did and the cases whose clearings changed."""
    stored = store.series.in_extent(series, codes=True, conn=conn)
    comp, pos = match_codes(stored.source_ref, clearings.source_ref)
    wkb, bounds = clearings.encoded()
    values = NewValues(
        pixel_count=clearings.pixel_count.astype(np.int64),
        pixels=np.column_stack([clearings.pixels_low, clearings.pixels_high,
                                clearings.pixels_highest]).astype(np.int64),
        first_date=clearings.first_date.astype("datetime64[D]"),
        last_date=clearings.last_date.astype("datetime64[D]"),
        area_ha=clearings.area_ha.astype(np.float64),
        bounds=bounds,
        centroid=np.column_stack([clearings.centroid_lon, clearings.centroid_lat]),
    )
    decision = decide_codes(stored.state, values, comp, pos)
    written = decision.new | decision.updated
    keep = np.flatnonzero(written)
    chosen = clearings.take(keep)
    decision = decision.take(keep)
    territories = tally.territories = store.territories.list(conn=conn)
    placement = place_clearings(chosen, territories, buffer_m=buffer_m, frame=frame)
    writer = SeriesWriter(store, conn, batch_id)
    writer.write(chosen, placement, decision)
    writer.counts.unchanged += int(len(clearings) - len(keep))
    tally.add(chosen, placement)
    return writer.counts, writer.cases()
