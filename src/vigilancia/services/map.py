"""The web map's clearings: vector tiles, pages by bounding box and filters, one clearing.

A workspace may hold hundreds of thousands of clearings; none of these reads sends
them all. They go through the map's index of clearings (``store.clearing_map``, see
:mod:`vigilancia.io.store.clearing_map`), which :func:`ensure_clearing_map` rebuilds
after the batches change (on the first map read after a monitoring run, never on the
monitor's write path):

- :func:`clearing_tile`: one Mapbox Vector Tile (layer ``clearings``). Below zoom
  :data:`~vigilancia.domain.tiling.FULL_ZOOM` it holds points, thinned to the largest
  clearing of each of 32 x 32 cells per tile (at most about 1,400 points, whatever the
  density); from that zoom on, every clearing's polygon. Each feature carries its id,
  likely driver and probability, area, first and last alert dates (ISO text, for a
  date slider), confidence and its case's code and status.
- :func:`clearings_page`: a GeoJSON page of clearings in a bounding box (optional)
  that pass a :class:`~vigilancia.io.store.ClearingFilter`, in id order, with the id
  to ask the next page after (keyset paging: a page never repeats nor skips a
  clearing while others are added).
- :func:`clearing_detail`: one clearing with its driver's reasons in words.

>>> parse_bbox("-75.1,-9.6,-74.8,-9.3")
(-75.1, -9.6, -74.8, -9.3)
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import shapely

from vigilancia.domain.cases import CaseStatus
from vigilancia.domain.drivers import Driver, Reason
from vigilancia.domain.tiling import (
    FULL_ZOOM,
    cover_ranges,
    merge_ranges,
    qkeys,
    thin_minzoom,
    tile_bounds,
    tile_key_range,
)
from vigilancia.errors import InputError
from vigilancia.i18n import _
from vigilancia.io.package.common import geojson_geometries, geojson_geometry
from vigilancia.io.package.tiles import encode_tile
from vigilancia.io.store import ClearingCard, ClearingFilter, MapClearings, WorkspaceStore
from vigilancia.io.store.repository import IN_CHUNK
from vigilancia.services.texts.drivers import driver_name, prediction_text, reason_text

__all__ = [
    "MAX_PAGE",
    "MAX_ZOOM",
    "ClearingPage",
    "ClearingView",
    "MapTile",
    "clearing_detail",
    "clearing_filter",
    "clearing_tile",
    "clearings_page",
    "ensure_clearing_map",
    "parse_bbox",
]

#: Most clearings one page may hold.
MAX_PAGE = 1000
#: Deepest zoom a tile is served at.
MAX_ZOOM = 22
#: Name of the clearings layer in the tiles (``source-layer`` of a MapLibre style).
TILE_LAYER = "clearings"
#: A bounding box holding more clearings than this is read in id order with a filter
#: instead of through the index (the index would hand over most ids anyway).
DIRECT_READ = 50_000
#: The confidence filter's words (as the alert products name them).
CONFIDENCES = {"low": 1, "high": 2, "highest": 3}

#: Seconds between two checks of whether the index is current (per workspace, per
#: process): a monitoring run shows on the map at most this long after it commits.
CHECK_EVERY_S = 2.0

_building: dict[str, threading.Lock] = {}
_building_guard = threading.Lock()
_checked: dict[str, float] = {}
#: Index rows written per transaction while the index is brought up to date.
WRITE_PART = 25_000


# ----------------------------------------------------------------------- the index


def ensure_clearing_map(store: WorkspaceStore) -> bool:
    """Bring the map's index of clearings up to date when the batches changed; whether it
    did.

    The rows are computed outside any transaction and compared with the stored index;
    only the rows that changed are written, :data:`WRITE_PART` at a time, each part in a
    short transaction, so that a login or a case update never waits long for a build
    (the first build of a 40000² tile writes 689,186 rows). Readers meanwhile see the
    index part by part: a new clearing may show before the build ends, nothing shows
    twice. The first build waits for another thread's build; later a request that finds
    the index out of date while another thread of this process updates it reads the
    old one rather than waiting.
    """
    last = _checked.get(store.url)
    if last is not None and time.monotonic() - last < CHECK_EVERY_S:
        return False
    index = store.clearing_map
    fingerprint = index.fingerprint()
    state = index.state()
    if state is not None and all(state.get(k) == v for k, v in fingerprint.items()):
        _checked[store.url] = time.monotonic()
        return False
    with _building_guard:
        lock = _building.setdefault(store.url, threading.Lock())
    if not lock.acquire(blocking=state is None):
        return False
    try:
        if index.state() == state and state is not None and all(
                state.get(k) == v for k, v in index.fingerprint().items()):
            return False  # (another thread finished it while this one waited)
        ids, lon, lat, area, margin = index.sources()
        keys = qkeys(lon, lat)
        minzoom = thin_minzoom(keys, area)
        old_ids, old_keys, old_zoom = index.rows()
        pos = np.searchsorted(old_ids, ids)
        pos = np.minimum(pos, max(len(old_ids) - 1, 0))
        known = (old_ids[pos] == ids) if len(old_ids) else np.zeros(len(ids), bool)
        same = known & (old_keys[pos] == keys) & (old_zoom[pos] == minzoom) if len(old_ids) \
            else known
        change = np.flatnonzero(~same)
        gone = np.setdiff1d(old_ids, ids, assume_unique=True)
        for start in range(0, max(len(change), 1), WRITE_PART):
            part = change[start:start + WRITE_PART]
            with store.transaction() as conn:
                index.write(conn, ids[part], keys[part], minzoom[part],
                            drop=gone if start == 0 else None)
        with store.transaction() as conn:
            if index.fingerprint(conn=conn) != fingerprint:
                return True  # a batch landed meanwhile: the next check takes it in
            index.set_state(conn, fingerprint, margin, len(ids))
        _checked[store.url] = time.monotonic()
        return True
    finally:
        lock.release()


# ----------------------------------------------------------------------- filters


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``"west,south,east,north"`` (degrees) as a tuple; None for no text.

    Raises :class:`~vigilancia.errors.InputError` unless it is four numbers in range
    with west < east and south < north.
    """
    if text is None or not str(text).strip():
        return None
    parts = str(text).replace(";", ",").split(",")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if (len(values) != 4 or not all(math.isfinite(v) for v in values)
            or not (-180 <= values[0] < values[2] <= 180 and -90 <= values[1] < values[3] <= 90)):
        raise InputError(
            _("{value!r} is not a bounding box", value=text),
            hint=_("give west,south,east,north in degrees, e.g. -75.1,-9.6,-74.8,-9.3"),
            inputs="bbox",
        )
    return values[0], values[1], values[2], values[3]


def clearing_filter(
    *,
    since: date | None = None,
    until: date | None = None,
    drivers: list[str] | None = None,
    min_confidence: str | None = None,
    territory: int | None = None,
    statuses: list[str] | None = None,
) -> ClearingFilter:
    """A :class:`~vigilancia.io.store.ClearingFilter` from what a person gives: driver
    names (codes, or ``unclassified``), a confidence word (low, high, highest), case
    statuses (codes, or ``none`` for clearings in no case). Unknown words raise
    :class:`~vigilancia.errors.InputError` naming the input."""
    if since is not None and until is not None and since > until:
        raise InputError(_("The period ends before it begins ({since} to {until})",
                           since=since, until=until), inputs=("since", "until"))
    wanted_drivers = None
    if drivers:
        known = {d.value for d in Driver} | {"unclassified"}
        bad = [d for d in drivers if d not in known]
        if bad:
            raise InputError(_("Unknown driver {value!r}", value=bad[0]),
                             hint=_("use one of: {names}", names=", ".join(sorted(known))),
                             inputs="driver")
        wanted_drivers = tuple(drivers)
    level = 1
    if min_confidence:
        key = min_confidence.strip().lower()
        if key not in CONFIDENCES:
            raise InputError(_("Unknown confidence {value!r}", value=min_confidence),
                             hint=_("use one of: {names}", names=", ".join(CONFIDENCES)),
                             inputs="confidence")
        level = CONFIDENCES[key]
    wanted_statuses = None
    if statuses:
        known = {s.value for s in CaseStatus} | {"none"}
        bad = [s for s in statuses if s not in known]
        if bad:
            raise InputError(_("Unknown case status {value!r}", value=bad[0]),
                             hint=_("use one of: {names}", names=", ".join(sorted(known))),
                             inputs="status")
        wanted_statuses = tuple(statuses)
    return ClearingFilter(since=since, until=until, drivers=wanted_drivers,
                          min_confidence=level, territory_id=territory,
                          statuses=wanted_statuses)


# ----------------------------------------------------------------------- tiles


@dataclass(frozen=True)
class MapTile:
    """One vector tile: its MVT bytes (empty when nothing is in it) and how many
    clearings it holds, as ``points`` or ``polygons``."""

    z: int
    x: int
    y: int
    data: bytes
    features: int
    shape: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the tile's address and counts; the bytes stay out)."""
        return {"z": self.z, "x": self.x, "y": self.y, "features": self.features,
                "shape": self.shape, "bytes": len(self.data)}


def _check_tile(z: int, x: int, y: int) -> None:
    if not (0 <= z <= MAX_ZOOM) or not (0 <= x < (1 << z)) or not (0 <= y < (1 << z)):
        raise InputError(_("There is no map tile {z}/{x}/{y}", z=z, x=x, y=y),
                         hint=_("the zoom goes from 0 to {max}, and x and y from 0 to "
                                "2 to the power of the zoom, minus 1", max=MAX_ZOOM))


def clearing_tile(store: WorkspaceStore, z: int, x: int, y: int,
                  where: ClearingFilter | None = None) -> MapTile:
    """The vector tile ``z/x/y`` of the clearings that pass ``where`` (see the module)."""
    _check_tile(z, x, y)
    where = where or ClearingFilter()
    ensure_clearing_map(store)
    if z < FULL_ZOOM:
        rows = store.clearing_map.tile([tile_key_range(z, x, y)], z, where)
        geoms = list(shapely.points(np.array(rows.lon, np.float64), np.array(rows.lat, np.float64)))
        shape = "points"
    else:
        n = 1 << z
        ranges = merge_ranges([tile_key_range(z, tx, ty)
                               for tx in (x - 1, x, x + 1) for ty in (y - 1, y, y + 1)
                               if 0 <= tx < n and 0 <= ty < n])
        rows = store.clearing_map.tile(ranges, FULL_ZOOM, where, bounds=tile_bounds(z, x, y),
                                       geometry=True)
        geoms = list(shapely.from_wkb(np.array(rows.geometry, dtype=object)))
        shape = "polygons"
    props = [_tile_properties(rows, i) for i in range(len(rows))]
    data = encode_tile([(TILE_LAYER, geoms, props)], z, x, y, ids=[rows.id]) if len(rows) else b""
    return MapTile(z, x, y, data, len(rows), shape)


def _tile_properties(rows: MapClearings, i: int) -> dict[str, Any]:
    out: dict[str, Any] = {"confidence": rows.confidence[i]}
    area = rows.area_ha[i]
    if area is not None:
        out["area_ha"] = round(float(area), 3)
    if rows.driver[i] is not None:
        out["driver"] = rows.driver[i]
        p = rows.driver_probability[i]
        if p is not None and math.isfinite(p):
            out["probability"] = round(float(p), 3)
    if rows.first_date[i] is not None:
        out["first_date"] = rows.first_date[i]
    if rows.last_date[i] is not None:
        out["last_date"] = rows.last_date[i]
    case = rows.case_id[i]
    if case is not None:
        out["case"] = f"C-{int(case):04d}"
        out["case_status"] = rows.case_status[i]
    return out


# ----------------------------------------------------------------------- pages


@dataclass(frozen=True)
class ClearingPage:
    """A page of clearings (:class:`~vigilancia.io.store.MapClearings`), in id order, and
    the id to ask the next page after (None on the last page)."""

    clearings: MapClearings
    limit: int
    next_after: int | None

    def to_dict(self) -> dict[str, Any]:
        """A GeoJSON FeatureCollection (EPSG:4326, polygons with 6 decimals) with
        ``next_after`` and ``limit``; each feature's id is the clearing's."""
        rows = self.clearings
        wkb = [g for g in rows.geometry if g is not None]
        shapes = iter(geojson_geometries(shapely.from_wkb(np.array(wkb, dtype=object)))
                      if wkb else [])
        geoms = [None if g is None else next(shapes) for g in rows.geometry]
        features = []
        for i in range(len(rows)):
            props = {"id": rows.id[i], **_tile_properties(rows, i)}
            props["first_date"] = rows.first_date[i]
            props["last_date"] = rows.last_date[i]
            driver = rows.driver[i]
            props["driver_name"] = driver_name(driver) if driver else None
            props["lon"], props["lat"] = rows.lon[i], rows.lat[i]
            props["nearest_territory_id"] = rows.nearest_territory_id[i]
            d = rows.boundary_distance_m[i]
            props["boundary_distance_m"] = None if d is None else round(float(d), 1)
            features.append({"type": "Feature", "id": rows.id[i], "geometry": geoms[i],
                             "properties": props})
        return {"type": "FeatureCollection", "features": features,
                "next_after": self.next_after, "limit": self.limit}


def clearings_page(
    store: WorkspaceStore,
    where: ClearingFilter | None = None,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    after: int | None = None,
    limit: int = 100,
) -> ClearingPage:
    """Up to ``limit`` clearings (1 to :data:`MAX_PAGE`) that pass ``where`` and whose
    bounding box meets ``bbox``, with ids above ``after``, in id order."""
    if not (1 <= int(limit) <= MAX_PAGE):
        raise InputError(_("A page holds 1 to {max} clearings, not {value}", max=MAX_PAGE,
                           value=limit), inputs="limit")
    where = where or ClearingFilter()
    wanted = int(limit) + 1
    index = store.clearing_map
    if bbox is None:
        rows = index.page(where, after=after, limit=wanted)
    else:
        ensure_clearing_map(store)
        margin = float((index.state() or {}).get("margin_deg") or 0.0)
        west, south, east, north = bbox
        reach = (max(-180.0, west - margin), max(-90.0, south - margin),
                 min(180.0, east + margin), min(90.0, north + margin))
        ids = index.candidates(cover_ranges(reach), FULL_ZOOM)
        if after is not None:
            ids = ids[ids > int(after)]
        if len(ids) > DIRECT_READ:
            rows = index.page(where, after=after, bounds=bbox, limit=wanted)
        else:
            parts: list[MapClearings] = []
            got = 0
            for start in range(0, len(ids), IN_CHUNK):
                part = index.page(where, ids=ids[start:start + IN_CHUNK].tolist(), bounds=bbox,
                                  limit=wanted - got)
                parts.append(part)
                got += len(part)
                if got >= wanted:
                    break
            rows = _concat(parts)
    more = len(rows) > limit
    if more:
        rows = rows.take(list(range(int(limit))))
    return ClearingPage(rows, int(limit), rows.id[-1] if more else None)


def _concat(parts: list[MapClearings]) -> MapClearings:
    if not parts:
        return MapClearings([], [], [], [], [], [], [], [], [], [], [], [], [],
                            np.empty((0, 4)), [])
    if len(parts) == 1:
        return parts[0]
    values: dict[str, Any] = {}
    for name in MapClearings.__dataclass_fields__:
        cols = [getattr(p, name) for p in parts]
        values[name] = (np.concatenate(cols) if isinstance(cols[0], np.ndarray)
                        else [v for c in cols for v in c])
    return MapClearings(**values)


# ----------------------------------------------------------------------- one clearing


@dataclass(frozen=True)
class ClearingView:
    """One clearing as a person reads it (:class:`~vigilancia.io.store.ClearingCard`),
    with its likely driver in words."""

    detail: ClearingCard

    def to_dict(self) -> dict[str, Any]:
        """A GeoJSON Feature: the polygon, and as properties the shape features, dates,
        pixels by confidence, driver (code, name, probability, every driver's
        probability, the reasons in words and as codes), placement and case."""
        d = self.detail
        reasons = [Reason(str(r.get("code", "")), dict(r.get("params") or {}))
                   for r in d.driver_reasons]
        explanation = None
        if d.driver is not None and d.driver_probability is not None:
            explanation = prediction_text(d.driver, d.driver_probability, reasons)
        props: dict[str, Any] = {
            "id": d.id, "batch_id": d.batch_id, "product": d.product,
            "first_date": d.first_date, "last_date": d.last_date,
            **{k: (None if v is None else round(v, 6)) for k, v in d.features.items()},
            "pixels": dict(d.pixels),
            "driver": d.driver,
            "driver_name": driver_name(d.driver) if d.driver else None,
            "driver_probability": d.driver_probability,
            "driver_probabilities": dict(d.driver_probs),
            "explanation": explanation,
            "reasons": [{"code": r.code, "params": dict(r.params), "text": reason_text(r)}
                        for r in reasons],
            "model_version": d.model_version,
            "nearest_territory_id": d.nearest_territory_id,
            "nearest_territory": d.nearest_territory,
            "boundary_distance_m": d.boundary_distance_m,
            "within_buffer": d.within_buffer,
            "territories": [{"id": i, "name": n, "kind": k, "share": round(sh, 4)}
                            for i, n, k, sh in d.overlaps],
            "case": None if d.case_id is None else f"C-{d.case_id:04d}",
            "case_status": d.case_status,
        }
        return {"type": "Feature", "id": d.id,
                "geometry": geojson_geometry(shapely.from_wkb(d.geometry)),
                "properties": props}


def clearing_detail(store: WorkspaceStore, clearing_id: int) -> ClearingView:
    """One clearing (an id a later download merged into another clearing means that
    clearing); :class:`~vigilancia.errors.NotFoundError` when there is none."""
    now = int(store.series.resolve([int(clearing_id)])[0])
    return ClearingView(store.clearing_map.detail(now))
