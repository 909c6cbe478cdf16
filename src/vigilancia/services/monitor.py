"""The monitoring cycle: alert products in, clearings placed on territories out.

``run_monitor`` ingests one source (a raster file, a folder of tiles, a COG URL
or a vector alert file) into a workspace as one *alert batch*. Everything it
writes happens in one transaction: a failure or a kill midway leaves the
workspace as it was, and the same batch ingested twice adds nothing.
"""

from __future__ import annotations

import gc
import hashlib
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import copy_context
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from vigilancia.config import Settings
from vigilancia.domain.alerts import (
    RASTER_PRODUCTS,
    AlertFilter,
    Confidence,
    ProductError,
    lookup_tables,
)
from vigilancia.domain.clearings import ClearingSet, Placement
from vigilancia.domain.labelling import (
    Components,
    Labeller,
    build_geometries,
    geometry_wkb,
    scan_strip,
)
from vigilancia.domain.proximity import BoundaryIndex
from vigilancia.domain.territories import StoredTerritory
from vigilancia.errors import DataFormatError, InputError
from vigilancia.i18n import _, ngettext
from vigilancia.io.crs import WGS84, transform_geometries, transformer
from vigilancia.io.rasters import RasterInfo, fingerprint, read_strips, resolve
from vigilancia.io.store import NewBatch, TerritorySummary, WorkspaceStore
from vigilancia.progress import Progress, no_progress
from vigilancia.services.placement import PixelPolygons, RasterGrid, raster_placement

#: Finished clearings are handed to the writer every this many strips.
FLUSH_STRIPS = 4

VECTOR_SUFFIXES = (".parquet", ".csv", ".geojson", ".json", ".gpkg", ".fgb", ".shp", ".zip")


@dataclass(frozen=True)
class MonitorRequest:
    """What to ingest. ``product="auto"`` detects the product from the file."""

    source: str
    product: str = "auto"
    since: date | None = None
    until: date | None = None
    min_confidence: Confidence = Confidence.LOW
    classify: bool = True  # predict the likely driver of the new clearings

    def __post_init__(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise InputError(
                _("the first date {since} is after the last date {until}", since=self.since,
                  until=self.until),
                hint=_("swap the dates"),
                inputs=("since", "until"),
            )


@dataclass(frozen=True)
class BatchOutcome:
    """One ingested (or already present) batch."""

    batch_id: int
    source: str
    product: str
    skipped: bool  # True when the same batch was already in the workspace
    clearings: int
    area_ha: float
    pixels: int


@dataclass(frozen=True)
class MonitorResult:
    """Summary of a monitoring run, the same on every re-run of the same request."""

    batches: list[BatchOutcome]
    clearings: int
    area_ha: float
    territories: list[TerritorySummary]
    drivers: dict[str, int] = field(default_factory=dict)  # clearings per likely driver
    model_version: str | None = None  # the model that predicted them (None: not classified)
    seconds: float = field(default=0.0, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: batches, clearings, area_ha, clearings per likely driver
        with the model, and per-territory figures."""
        return {
            "batches": [asdict(b) for b in self.batches],
            "clearings": self.clearings,
            "area_ha": round(self.area_ha, 4),
            "drivers": dict(self.drivers),
            "model_version": self.model_version,
            "territories": [
                {
                    "id": t.territory_id,
                    "name": t.name,
                    "kind": str(t.kind),
                    "clearings": t.clearings,
                    "area_ha": round(t.area_ha, 4),
                    "first_date": t.first_date.isoformat() if t.first_date else None,
                    "last_date": t.last_date.isoformat() if t.last_date else None,
                }
                for t in self.territories
            ],
        }


def detect_product(source: str, info: RasterInfo | None) -> str:
    """Guess the product of a source from its suffix, bands and data type."""
    if info is None:
        return "mapbiomas"
    names = {n.lower() for n in info.band_names}
    if {"alert", "date"} <= names:
        return "radd-gee"
    if {"alert", "obsdate"} <= names:
        return "glad-s2"
    if any(n.startswith("conf") for n in names) and any(n.startswith("alertdate") for n in names):
        return "glad-l-gee"
    if "lossyear" in names or (info.dtype == "uint8" and len(info.band_names) == 1):
        return "hansen"
    if len(info.band_names) == 1:
        return "gfw"
    raise InputError(
        ngettext(
            "cannot tell which alert product this is ({n} band: {names})",
            "cannot tell which alert product this is ({n} bands: {names})",
            len(info.band_names),
            names=", ".join(info.band_names),
        ),
        hint=_("name the product: gfw, radd-gee, glad-l-gee, glad-s2, hansen or mapbiomas"),
        source=source,
        inputs="product",
    )


def _is_vector(source: str) -> bool:
    return Path(source).suffix.lower() in VECTOR_SUFFIXES and not source.startswith("http")


def _band_map(product: str, info: RasterInfo) -> dict[str, int]:
    names = list(info.band_names)
    lower = [n.lower() for n in names]
    if product in ("gfw", "hansen"):
        role = "alert" if product == "gfw" else "lossyear"
        return {role: 1}
    if product == "glad-l-gee":
        out = {
            n: i + 1
            for i, n in enumerate(names)
            if n.lower().startswith("conf") or n.lower().startswith("alertdate")
        }
        fixed = {}
        for n, i in out.items():
            yy = n[-2:]
            fixed[("conf" if n.lower().startswith("conf") else "alertDate") + yy] = i
        if not fixed:
            raise DataFormatError(
                _(
                    "GLAD-L export needs bands named confYY and alertDateYY (e.g. conf21, alertDate21)"  # noqa: E501
                ),
                source=info.source,
            )
        return fixed
    roles = RASTER_PRODUCTS[product].bands
    found = {}
    for role in roles:
        if role.lower() in lower:
            found[role] = lower.index(role.lower()) + 1
    if len(found) == len(roles):
        return found
    if len(names) == len(roles):  # no descriptions: Earth Engine's band order
        return {role: i + 1 for i, role in enumerate(roles)}
    raise DataFormatError(
        _("expected bands {need}, found {found}", need=", ".join(roles), found=", ".join(names)),
        source=info.source,
    )


def _to_clearings(comps: Components, info: RasterInfo) -> ClearingSet:
    a, _b, c, _d, e, f = info.transform
    cx = c + a * comps.centroid_col
    cy = f + e * comps.centroid_row
    shapes: dict[str, Any]
    if info.crs == WGS84:  # WKB straight from the pixel rings
        wkb, bounds = geometry_wkb(comps, info.transform)
        shapes = {"geometry": np.empty(0, dtype=object), "wkb": wkb, "bounds": bounds}
    else:
        geoms = transform_geometries(build_geometries(comps, info.transform), info.crs, WGS84)
        shapes = {"geometry": geoms}
        cx, cy = transformer(info.crs, WGS84).transform(cx, cy)
    with np.errstate(divide="ignore", invalid="ignore"):
        elong = np.where(comps.width_m > 0, comps.length_m / comps.width_m, np.nan)
        compact = 4 * np.pi * comps.area_ha * 1e4 / comps.perimeter_m**2
    return ClearingSet(
        **shapes,
        area_ha=comps.area_ha,
        perimeter_m=comps.perimeter_m,
        length_m=comps.length_m,
        width_m=comps.width_m,
        orientation_deg=comps.orientation_deg,
        elongation=elong,
        compactness=compact,
        first_date=comps.first_day.astype("datetime64[D]"),
        last_date=comps.last_day.astype("datetime64[D]"),
        pixels_low=comps.pixels[:, 0],
        pixels_high=comps.pixels[:, 1],
        pixels_highest=comps.pixels[:, 2],
        pixel_count=comps.pixel_count,
        centroid_lon=np.asarray(cx, np.float64),
        centroid_lat=np.asarray(cy, np.float64),
    )


def _new_batch(key: str, req: MonitorRequest, product: str, sha: str, *,
               n_clearings: int = 0, area_ha: float = 0.0,
               stats: dict[str, Any] | None = None) -> NewBatch:
    """The batch record; totals are updated at the end of a raster ingest. ``stats`` keeps
    what re-placing its clearings later needs (the raster grid or the vector frame, and
    the buffer; see :mod:`vigilancia.services.placement`)."""
    return NewBatch(
        key=key, source=req.source, product=product, since=req.since, until=req.until,
        min_confidence=Confidence(req.min_confidence).name.lower(), sha256=sha,
        n_pixels=0, n_clearings=n_clearings, area_ha=area_ha, stats=dict(stats or {}),
    )


def _batch_key(sha: str, product: str, req: MonitorRequest) -> str:
    text = "|".join(
        [
            sha,
            product,
            str(req.since or ""),
            str(req.until or ""),
            Confidence(req.min_confidence).name.lower(),
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()


class _TerritoryTally:
    """Per territory: clearings, overlap area (ha) and date range of the batch being written.

    Gives the figures of ``store.clearings.by_territory`` for that batch
    without reading hundreds of thousands of rows back.
    """

    def __init__(self) -> None:
        self._parts: list[tuple[np.ndarray, ...]] = []
        #: the territories the batch was placed on (read once by the ingest)
        self.territories: list[StoredTerritory] = []

    def add(self, clearings: ClearingSet, placement: Placement) -> None:
        oc = placement.overlap_clearing
        if len(oc):
            days = [
                getattr(clearings, name)[oc].astype("datetime64[D]")
                for name in ("first_date", "last_date")
            ]
            self._parts.append((placement.overlap_territory, placement.overlap_area_ha, *days))

    def summary(self) -> list[TerritorySummary]:
        if not self._parts:
            return []
        tid, area, first, last = (np.concatenate(v) for v in zip(*self._parts, strict=True))
        ids, inv = np.unique(tid, return_inverse=True)
        inv = inv.ravel()
        count = np.bincount(inv, minlength=len(ids))
        total = np.bincount(inv, weights=area, minlength=len(ids))
        lo = np.full(len(ids), np.datetime64("NaT"), "datetime64[D]")
        hi = lo.copy()
        for dates, out, pick in ((first, lo, np.fmin), (last, hi, np.fmax)):
            known = ~np.isnat(dates)
            order = np.argsort(inv[known], kind="stable")
            k, d = inv[known][order], dates[known][order]
            if len(k):
                starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
                out[k[starts]] = pick.reduceat(d, starts)
        by_id = {t.id: t for t in self.territories}
        rows = [
            TerritorySummary(
                territory_id=int(i),
                name=by_id[int(i)].name,
                kind=by_id[int(i)].kind,
                clearings=int(n),
                area_ha=float(a),
                first_date=None if np.isnat(f) else f.astype(object),
                last_date=None if np.isnat(la) else la.astype(object),
            )
            for i, n, a, f, la in zip(ids, count, total, lo, hi, strict=True)
        ]
        rows.sort(key=lambda r: (-r.area_ha, r.name, r.territory_id))
        return rows


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause automatic cycle collection during a bulk ingest.

    An ingest creates millions of short-lived, acyclic objects (rows, WKB
    bytes), which reference counting frees at once; the cycle collector would
    only rescan them, over and over, while holding every thread.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def run_monitor(
    store: WorkspaceStore,
    request: MonitorRequest,
    settings: Settings,
    progress: Progress | None = None,
) -> MonitorResult:
    """Ingest ``request.source`` into ``store`` and place its clearings on the territories."""
    t0 = time.perf_counter()
    tick: Progress = progress or no_progress
    tally = _TerritoryTally()
    with _gc_paused():
        if _is_vector(request.source):
            outcome = _ingest_vector(store, request, settings, tick, tally)
        else:
            outcome = _ingest_raster(store, request, settings, tick, tally)
    drivers: dict[str, int] = {}
    version: str | None = None
    if outcome.skipped:  # read back what the first run wrote
        summary = store.clearings.by_territory([outcome.batch_id])
        by_driver = store.clearings.by_driver([outcome.batch_id])
        drivers, version = by_driver.per_driver, by_driver.model_version
    else:  # what was just written, summed on the way (the same figures as the queries)
        summary = tally.summary()
        if request.classify and outcome.clearings:
            from vigilancia.services.classify import classify_clearings

            tick("classify", 0, outcome.clearings)
            classified = classify_clearings(
                store, batch_ids=[outcome.batch_id],
                progress=tick,
            )
            drivers, version = classified.counts(), classified.model_version
    return MonitorResult(
        batches=[outcome],
        clearings=outcome.clearings,
        area_ha=outcome.area_ha,
        territories=summary,
        drivers=drivers,
        model_version=version,
        seconds=time.perf_counter() - t0,
    )


def _existing(store: WorkspaceStore, key: str, source: str, product: str) -> BatchOutcome | None:
    found = store.batches.find(key)
    if found is None:
        return None
    return BatchOutcome(
        found.id, source, product, True, found.n_clearings, found.area_ha, found.n_pixels
    )


def _ingest_raster(
    store: WorkspaceStore,
    req: MonitorRequest,
    settings: Settings,
    tick: Progress,
    tally: _TerritoryTally,
) -> BatchOutcome:
    info = resolve(req.source, workdir=store.dir)
    product = detect_product(req.source, info) if req.product == "auto" else req.product
    if product not in RASTER_PRODUCTS:
        raise InputError(
            _("{product} is not a raster product", product=product),
            hint=_("let the product be detected (auto) or name a raster product"),
            source=req.source,
            inputs="product",
        )
    bands = _band_map(product, info)
    sha = fingerprint(info)
    key = _batch_key(sha, product, req)
    if (done := _existing(store, key, req.source, product)) is not None:
        return done
    conf_lut, day_lut = lookup_tables(
        product, AlertFilter(req.since, req.until, req.min_confidence)
    )
    territories = tally.territories = store.territories.list()
    raster = RasterGrid.of(info)
    grid = raster.pixel_grid()
    scanline, near_rings, near_ids = raster.indexes(territories)
    labeller = Labeller(grid, scanline)
    spec = RASTER_PRODUCTS[product]
    buffer_m = settings.buffer_km * 1000.0
    stats = {"grid": raster.to_stats(), "buffer_m": buffer_m}
    n_clear = 0
    n_pix = 0
    area = 0.0
    # One transaction for the whole batch. A single writer thread stores each chunk of
    # clearings while the next chunk is read, labelled and placed; at most one chunk
    # waits, so memory stays bounded, and a writer error surfaces at the next flush.
    # (bulk: parents are checked per chunk instead of per row; see WorkspaceStore.transaction)
    with store.transaction(bulk=True) as conn, ThreadPoolExecutor(1, "vigilancia-writer") as writer:
        batch_id = store.batches.add(conn, _new_batch(key, req, product, sha, stats=stats))
        # the nearest-boundary index is first needed at the first flush: the writer
        # thread, idle until then, builds it while the first strips are read and labelled
        # (each job runs in a copy of this context: errors are worded in the caller's language)
        index_job = writer.submit(copy_context().run, BoundaryIndex, near_rings)
        pending: list[Future[Any]] = []

        def flush(final: bool) -> None:
            nonlocal n_clear, n_pix, area
            comps, ov = labeller.finish() if final else labeller.take()
            if len(comps):
                clearings = _to_clearings(comps, info)
                rings = PixelPolygons(comps.xs, comps.ys, comps.ring_start, comps.ring_comp)
                placement = raster_placement(comps.area_ha, rings, comps.centroid_row, ov, grid,
                                             index_job.result(), near_ids, buffer_m)
                tally.add(clearings, placement)
                n_clear += len(clearings)
                n_pix += int(clearings.pixel_count.sum())
                area += float(clearings.area_ha.sum())
                while pending:
                    pending.pop().result()
                pending.append(
                    writer.submit(copy_context().run, store.clearings.add, conn, batch_id,
                                  clearings, placement)
                )
            if final:
                while pending:
                    pending.pop().result()

        strips = read_strips(info, bands, rows=settings.strip_rows, threads=settings.workers)
        for done_strips, (row0, data) in enumerate(strips, start=1):
            try:
                codes = spec.normalise(data, row0)
            except ProductError as exc:
                raise _product_error(req.source, exc) from exc
            runs, bad = scan_strip(codes, conf_lut, day_lut, row0)
            if bad is not None:
                raise _out_of_range(
                    req.source, product, bad.count, bad.value, bad.row, bad.col, spec.expected
                )
            last = min(row0 + settings.strip_rows, info.height) - 1
            labeller.push(runs, last)
            if done_strips % FLUSH_STRIPS == 0:
                flush(False)
            tick("monitor", last + 1, info.height)
        flush(True)
        store.batches.set_totals(conn, batch_id, n_pixels=n_pix, n_clearings=n_clear, area_ha=area)
    return BatchOutcome(batch_id, req.source, product, False, n_clear, area, n_pix)


def _product_error(source: str, exc: ProductError) -> DataFormatError:
    f = exc.found
    return _out_of_range(source, exc.product, f.count, f.value, f.row, f.col, exc.expected)


def _out_of_range(
    source: str, product: str, count: int, value: int, row: int, col: int, expected: str
) -> DataFormatError:
    return DataFormatError(
        _(
            "{count} pixel(s) out of range for product {product}: first value {value} at "
            "row {row}, column {col}; expected {expected}",
            count=count,
            product=product,
            value=value,
            row=row,
            col=col,
            expected=expected,
        ),
        hint=_("check the product named, or that the file is the product it claims to be"),
        source=source,
        inputs="product",
    )


def _ingest_vector(
    store: WorkspaceStore,
    req: MonitorRequest,
    settings: Settings,
    tick: Progress,
    tally: _TerritoryTally,
) -> BatchOutcome:
    from vigilancia.io.sources.mapbiomas import read_vector_alerts
    from vigilancia.services.vector_alerts import (
        clearings_from_vector_alerts,
        place_clearings,
        vector_frame,
    )

    product = "mapbiomas" if req.product == "auto" else req.product
    if product != "mapbiomas":
        raise InputError(
            _("{product} is not a vector product", product=product),
            hint=_("vector alert files are of the product mapbiomas"),
            source=req.source,
            inputs="product",
        )
    h = hashlib.sha256()
    with open(req.source, "rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    sha = h.hexdigest()
    key = _batch_key(sha, product, req)
    if (done := _existing(store, key, req.source, product)) is not None:
        return done
    tick("read", 0, 3)
    alerts = read_vector_alerts(req.source)
    clearings = clearings_from_vector_alerts(alerts, since=req.since, until=req.until)
    tick("place", 1, 3)
    territories = tally.territories = store.territories.list()
    buffer_m = settings.buffer_km * 1000.0
    frame = vector_frame(clearings.shapes(), clearings.centroid_lon, clearings.centroid_lat
                         ) if len(clearings) else None
    # (the alerts known only by a box or a point count by their point: place_clearings's
    # default, which re-placing the stored clearings takes too)
    placement = place_clearings(clearings, territories, buffer_m=buffer_m, frame=frame)
    tick("store", 2, 3)
    area = float(np.nansum(clearings.area_ha))
    stats: dict[str, Any] = {"buffer_m": buffer_m}
    if frame is not None:
        stats["frame"] = list(frame)
    with store.transaction() as conn:
        batch_id = store.batches.add(
            conn, _new_batch(key, req, product, sha, n_clearings=len(clearings), area_ha=area,
                             stats=stats)
        )
        store.clearings.add(conn, batch_id, clearings, placement)
    tally.add(clearings, placement)
    tick("store", 3, 3)
    return BatchOutcome(batch_id, req.source, product, False, len(clearings), area, 0)
