"""The monitoring cycle: alert products in, clearings placed on territories out.

``run_monitor`` ingests one source (a raster file, a folder of tiles, a COG URL
or a vector alert file) into a workspace as one *alert batch*, in steps that
each finish in one transaction and are recorded with the batch:

1. **ingest** and **placement** (one transaction): the window of the source that
   crosses the workspace's area of interest is read, its clearings are placed on
   the territories and reconciled with the clearings already stored for the
   product's series: a cumulative product's new download adds only what is new,
   updates grown or upgraded clearings in place (their history kept) and merges
   the clearings new pixels join (:mod:`vigilancia.services.raster_ingest`,
   :func:`vigilancia.services.vector_alerts.reconcile_vector`);
2. **classification**: the likely driver of the clearings the batch wrote.

A failure or a kill midway leaves the workspace as the last finished step left
it; running the same request again finishes what is missing and says so
(:attr:`BatchOutcome.completed`), and a batch whose steps are all done adds
nothing. Runs on one workspace take turns (``store.run_lock``): a second run of
the same batch waits for the first and then finds it ingested.
"""

from __future__ import annotations

import gc
import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from sqlalchemy.engine import Connection

from vigilancia.config import Settings
from vigilancia.domain.alerts import RASTER_PRODUCTS, AlertFilter, Confidence
from vigilancia.domain.clearings import ClearingSet
from vigilancia.errors import InputError, action
from vigilancia.i18n import _, ngettext
from vigilancia.io.rasters import RasterInfo, fingerprint, resolve, window_within
from vigilancia.io.store import NewBatch, TerritorySummary, WorkspaceStore
from vigilancia.progress import Progress, no_progress
from vigilancia.services.placement import RasterGrid
from vigilancia.services.raster_ingest import RasterJob, band_map, ingest_raster
from vigilancia.services.series import SeriesCounts, TerritoryTally
from vigilancia.services.vector_alerts import (
    clearings_from_vector_alerts,
    reconcile_vector,
    vector_frame,
)
from vigilancia.services.workspace import AreaOfInterest, area_of_interest

if TYPE_CHECKING:
    from vigilancia.services.classify import ClassifyResult

__all__ = ["STEPS", "BatchOutcome", "MonitorRequest", "MonitorResult", "detect_product",
           "run_monitor"]

VECTOR_SUFFIXES = (".parquet", ".csv", ".geojson", ".json", ".gpkg", ".fgb", ".shp", ".zip")
#: The steps of a batch, in order (ingest and placement finish together).
STEPS = ("ingest", "placement", "classification")
#: Progress stage shown while another run holds the workspace.
WAITING_STAGE = "Waiting for another run on this workspace"


@dataclass(frozen=True)
class MonitorRequest:
    """What to ingest. ``product="auto"`` detects the product from the file; ``series``
    names the series its clearings join (default: the product), to keep apart two
    systems that share an encoding (e.g. RADD and GLAD-S2 tiles as GFW serves them)."""

    source: str
    product: str = "auto"
    since: date | None = None
    until: date | None = None
    min_confidence: Confidence = Confidence.LOW
    classify: bool = True  # predict the likely driver of the new clearings
    series: str | None = None

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
    """One ingested (or already present) batch.

    ``clearings``, ``area_ha`` and ``pixels``: what the batch wrote (its new and
    updated clearings). ``new``, ``updated`` (of which ``upgraded`` with pixels whose
    confidence rose), ``merged`` (stored clearings joined to another) and
    ``unchanged``: what it did to the clearings already stored for its series.
    ``skipped``: the batch was already in the workspace; ``completed``: the steps this
    run finished for it (what a killed or ``--no-classify`` run had left).
    """

    batch_id: int
    source: str
    product: str
    skipped: bool
    clearings: int
    area_ha: float
    pixels: int
    new: int = 0
    updated: int = 0
    upgraded: int = 0
    merged: int = 0
    unchanged: int = 0
    completed: tuple[str, ...] = ()


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


@dataclass(frozen=True)
class _Prepared:
    """A request checked and fingerprinted, before the workspace is locked: its batch key
    and what the ingest reads (the raster window, or the vector file)."""

    key: str
    product: str
    series: str
    sha: str
    area: AreaOfInterest
    window: RasterInfo | None = None
    bands: dict[str, int] = field(default_factory=dict)


def _batch_key(sha: str, product: str, req: MonitorRequest, series: str, where: str) -> str:
    text = "|".join(
        [
            sha,
            product,
            str(req.since or ""),
            str(req.until or ""),
            Confidence(req.min_confidence).name.lower(),
            series if series != product else "",
            where,
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _prepare(store: WorkspaceStore, req: MonitorRequest, settings: Settings) -> _Prepared:
    area = area_of_interest(store, settings)
    if _is_vector(req.source):
        product = "mapbiomas" if req.product == "auto" else req.product
        if product != "mapbiomas":
            raise InputError(
                _("{product} is not a vector product", product=product),
                hint=_("vector alert files are of the product mapbiomas"),
                source=req.source,
                inputs="product",
            )
        from vigilancia.io.vectors import file_sha256

        sha = file_sha256(req.source) if Path(req.source).is_file() else ""
        series = req.series or product
        where = "" if area.bounds is None else ",".join(f"{v:.6f}" for v in area.bounds)
        return _Prepared(_batch_key(sha, product, req, series, where), product, series, sha,
                         area)
    info = resolve(req.source)
    product = detect_product(req.source, info) if req.product == "auto" else req.product
    if product not in RASTER_PRODUCTS:
        raise InputError(
            _("{product} is not a raster product", product=product),
            hint=_("let the product be detected (auto) or name a raster product"),
            source=req.source,
            inputs="product",
        )
    bands = band_map(product, info)
    window = info if area.bounds is None else window_within(info, area.bounds)
    if window is None:
        raise InputError(
            _("the tile does not cross the area of interest ({area}); nothing to read",
              area=", ".join(f"{v:.4f}" for v in area.bounds or ())),
            hint=_("check that it is the tile of your region, or widen the area of interest"),
            source=req.source,
            actions=action("aoi.show"),
        )
    sha = fingerprint(info)
    series = req.series or product
    where = f"{window.col_off},{window.row_off},{window.width},{window.height}"
    return _Prepared(_batch_key(sha, product, req, series, where), product, series, sha, area,
                     window, bands)


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
    """Ingest ``request.source`` into ``store``, place its clearings on the territories and
    predict their likely driver, finishing whatever an earlier run of it left undone."""
    t0 = time.perf_counter()
    tick: Progress = progress or no_progress
    prepared = _prepare(store, request, settings)
    tally = TerritoryTally()
    with store.run_lock(lambda: tick(WAITING_STAGE, 0, None)):
        found = store.batches.find(prepared.key)
        if found is None:
            with _gc_paused():
                outcome = _ingest(store, request, prepared, settings, tick, tally)
            steps: tuple[str, ...] = STEPS[:2]
        else:
            done = found.stats.get("series_counts", {})
            outcome = BatchOutcome(
                found.id, request.source, prepared.product, True, found.n_clearings,
                found.area_ha, found.n_pixels, new=int(done.get("new", 0)),
                updated=int(done.get("updated", 0)), upgraded=int(done.get("upgraded", 0)),
                merged=int(done.get("merged", 0)), unchanged=int(done.get("unchanged", 0)),
            )
            steps = found.steps
        drivers: dict[str, int] = {}
        version: str | None = None
        if request.classify and "classification" not in steps:
            classified = _classify(store, outcome.batch_id, steps, tick)
            drivers, version = classified.counts(), classified.model_version
            if outcome.skipped:
                outcome = _with_completed(outcome, ("classification",))
        elif outcome.skipped:  # (a new batch not classified has no driver to count)
            by_driver = store.clearings.by_driver([outcome.batch_id])
            drivers, version = by_driver.per_driver, by_driver.model_version
    if outcome.skipped:  # read back what the first run wrote
        summary = store.clearings.by_territory([outcome.batch_id])
    else:  # what was just written, summed on the way (the same figures as the query)
        summary = tally.summary()
    return MonitorResult(
        batches=[outcome],
        clearings=outcome.clearings,
        area_ha=outcome.area_ha,
        territories=summary,
        drivers=drivers,
        model_version=version,
        seconds=time.perf_counter() - t0,
    )


def _with_completed(outcome: BatchOutcome, steps: tuple[str, ...]) -> BatchOutcome:
    return replace(outcome, completed=(*outcome.completed, *steps))


def _classify(store: WorkspaceStore, batch_id: int, steps: tuple[str, ...], tick: Progress
              ) -> ClassifyResult:
    """The classification step of a batch: its clearings' drivers, the step recorded and
    the cases of its clearings brought up to date, in one transaction."""
    # (the driver model and its features load only when a batch is classified)
    from vigilancia.services.cases import refresh_cases
    from vigilancia.services.classify import classify_clearings

    def finish(conn: Connection) -> None:
        ids = store.clearings.positions(batch_ids=[batch_id], conn=conn).id
        cases = set(store.cases.of_clearings(ids.tolist(), conn=conn).values())
        refresh_cases(store, conn, cases)
        store.batches.set_steps(conn, batch_id, [*steps, "classification"])

    tick("classify", 0, None)
    return classify_clearings(store, batch_ids=[batch_id], progress=tick, then=finish)


def _ingest(
    store: WorkspaceStore,
    req: MonitorRequest,
    prep: _Prepared,
    settings: Settings,
    tick: Progress,
    tally: TerritoryTally,
) -> BatchOutcome:
    """The ingest and placement steps of a new batch, in one transaction.

    The batch keeps what re-placing its clearings later needs
    (:mod:`vigilancia.services.placement`): the buffer, and the pixel grid of the
    window read (``stats["grid"]``, :meth:`RasterGrid.from_stats` reads it) or the
    equal-area frame of the vector alerts (``stats["frame"]``)."""
    buffer_m = settings.buffer_km * 1000.0
    stats: dict[str, Any] = {"area_of_interest": prep.area.to_dict(), "buffer_m": buffer_m}
    if prep.window is not None:
        stats["grid"] = RasterGrid.of(prep.window).to_stats()
    batch = NewBatch(
        key=prep.key, source=req.source, product=prep.product, since=req.since,
        until=req.until, min_confidence=Confidence(req.min_confidence).name.lower(),
        sha256=prep.sha, n_pixels=0, n_clearings=0, area_ha=0.0, stats=stats,
        series=prep.series,
    )
    read = _read_vector(req, prep, tick) if prep.window is None else None
    frame: tuple[float, float] | None = None
    if read is not None and len(read):
        frame = vector_frame(read.shapes(), read.centroid_lon, read.centroid_lat)
        stats["frame"] = list(frame)
    with store.transaction(bulk=prep.window is not None) as conn:
        batch_id = store.batches.add(conn, batch)
        if prep.window is not None:
            job = RasterJob(prep.window, prep.product, prep.bands,
                            AlertFilter(req.since, req.until, req.min_confidence), prep.series,
                            batch_id)
            counts, cases = ingest_raster(store, conn, job, settings, tick, tally)
        else:
            assert read is not None
            counts, cases = _reconcile_vector(store, conn, batch_id, prep, read, frame,
                                              buffer_m, tick, tally)
        if cases:  # (the cases module loads only when a case's clearings changed)
            from vigilancia.services.cases import refresh_cases

            refresh_cases(store, conn, cases)
        stats["series_counts"] = counts.to_dict()
        store.batches.set_totals(conn, batch_id, n_pixels=counts.pixels,
                                 n_clearings=counts.written, area_ha=counts.area_ha, stats=stats)
        store.batches.set_steps(conn, batch_id, STEPS[:2])
    return _outcome(batch_id, req, prep.product, counts)


def _outcome(batch_id: int, req: MonitorRequest, product: str, c: SeriesCounts) -> BatchOutcome:
    return BatchOutcome(batch_id, req.source, product, False, c.written, c.area_ha, c.pixels,
                        new=c.new, updated=c.updated, upgraded=c.upgraded, merged=c.merged,
                        unchanged=c.unchanged)


def _read_vector(req: MonitorRequest, prep: _Prepared, tick: Progress) -> ClearingSet:
    """The clearings of the request's vector alerts inside the area of interest."""
    from vigilancia.io.sources.mapbiomas import read_vector_alerts

    tick("read", 0, 3)
    alerts = read_vector_alerts(req.source)
    if prep.area.bounds is not None and len(alerts):
        minx, miny, maxx, maxy = prep.area.bounds
        b = shapely.bounds(alerts.geometry)
        inside = ~((b[:, 0] > maxx) | (b[:, 2] < minx) | (b[:, 1] > maxy) | (b[:, 3] < miny))
        alerts = alerts.take(np.flatnonzero(inside))
    return clearings_from_vector_alerts(alerts, since=req.since, until=req.until)


def _reconcile_vector(
    store: WorkspaceStore,
    conn: Connection,
    batch_id: int,
    prep: _Prepared,
    clearings: ClearingSet,
    frame: tuple[float, float] | None,
    buffer_m: float,
    tick: Progress,
    tally: TerritoryTally,
) -> tuple[SeriesCounts, set[int]]:
    tick("place", 1, 3)
    # (the alerts known only by a box or a point count by their point: place_clearings's
    # default, which re-placing the stored clearings takes too)
    counts, cases = reconcile_vector(store, conn, batch_id, prep.series, clearings,
                                     buffer_m=buffer_m, frame=frame, tally=tally)
    tick("store", 3, 3)
    return counts, cases
