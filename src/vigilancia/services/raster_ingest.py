"""One raster batch: alert pixels to clearings, placed and reconciled with the stored series.

:func:`ingest_raster` reads the window of the raster that crosses the area of
interest strip by strip, labels the accepted pixels into clearings (8-connected
components, :mod:`vigilancia.domain.labelling`), places each on the
territories (pixel centres; nearest boundary on the pixel grid) and writes them
in one transaction, a writer thread storing each chunk while the next is read.

A product is cumulative, so the batch is reconciled with the clearings already
stored for its series (:mod:`vigilancia.domain.series`): the anchors of the
stored clearings in the window (their first pixel) are looked up in the new
components as they are labelled (the labeller's marks), and a component that
holds no stored anchor looks its own anchor up in the stored footprints.
Unchanged clearings cost nothing more than reading and labelling; new, grown
and merged ones are written by :class:`~vigilancia.services.series.SeriesWriter`.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from sqlalchemy.engine import Connection

from vigilancia.config import Settings
from vigilancia.domain.alerts import (
    RASTER_PRODUCTS,
    AlertFilter,
    ProductError,
    lookup_tables,
)
from vigilancia.domain.clearings import ClearingSet
from vigilancia.domain.labelling import (
    Components,
    Labeller,
    Marks,
    Overlaps,
    build_geometries,
    geometry_wkb,
    scan_strip,
)
from vigilancia.domain.proximity import BoundaryIndex
from vigilancia.domain.series import Decision, NewValues, SeriesMatcher
from vigilancia.errors import DataFormatError
from vigilancia.i18n import _
from vigilancia.io.crs import WGS84, transform_geometries, transformer
from vigilancia.io.rasters import RasterInfo, read_strips
from vigilancia.io.store import SeriesClearings, WorkspaceStore
from vigilancia.progress import Progress
from vigilancia.services.placement import PixelPolygons, RasterGrid, raster_placement
from vigilancia.services.series import SeriesCounts, SeriesWriter, TerritoryTally

__all__ = ["FLUSH_STRIPS", "RasterJob", "band_map", "ingest_raster"]

#: Finished clearings are handed to the writer every this many strips.
FLUSH_STRIPS = 4
#: Up to this many anchors of a chunk are looked up among the stored boxes one by one;
#: more, through a tree of the boxes (built once).
BRUTE_POINTS = 64


@dataclass(frozen=True)
class RasterJob:
    """What :func:`ingest_raster` reads: the window of the source, its product and bands,
    the alert filter, the series it joins and the batch it writes."""

    info: RasterInfo
    product: str
    bands: dict[str, int]
    filter: AlertFilter
    series: str
    batch_id: int


def band_map(product: str, info: RasterInfo) -> dict[str, int]:
    """Which band of ``info`` holds each role the product reads (1-based)."""
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
    ax = c + a * (comps.first_col + 0.5)  # the centre of the first pixel: the anchor
    ay = f + e * (comps.first_row + 0.5)
    shapes: dict[str, Any]
    if info.crs == WGS84:  # WKB straight from the pixel rings
        wkb, bounds = geometry_wkb(comps, info.transform)
        shapes = {"geometry": np.empty(0, dtype=object), "wkb": wkb, "bounds": bounds}
    else:
        geoms = transform_geometries(build_geometries(comps, info.transform), info.crs, WGS84)
        shapes = {"geometry": geoms}
        to_lonlat = transformer(info.crs, WGS84)
        cx, cy = to_lonlat.transform(cx, cy)
        ax, ay = to_lonlat.transform(ax, ay)
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
        anchor_lon=np.asarray(ax, np.float64),
        anchor_lat=np.asarray(ay, np.float64),
    )


class _StoredAnchors:
    """The stored clearings of the series in the window, by the pixel of their anchor.

    ``rows``/``cols``/``pos`` are sorted by row: :meth:`in_rows` hands the labeller the
    anchors of one strip. :meth:`containing` finds the stored clearings whose footprint
    holds a point (bounding boxes first, then the polygons, read only for the few
    candidates left)."""

    def __init__(self, store: WorkspaceStore, stored: SeriesClearings, info: RasterInfo):
        self.store = store
        self.stored = stored
        x, y = stored.anchor_lon, stored.anchor_lat
        if info.crs != WGS84 and len(x):
            x, y = (np.asarray(v) for v in transformer(WGS84, info.crs).transform(x, y))
        a, _b, c, _d, e, f = info.transform
        with np.errstate(invalid="ignore"):
            col = np.floor((x - c) / a)
            row = np.floor((y - f) / e)
        ok = np.isfinite(col) & np.isfinite(row)
        ok &= (col >= 0) & (col < info.width) & (row >= 0) & (row < info.height)
        pos = np.flatnonzero(ok)
        order = np.lexsort((col[pos], row[pos]))
        self.pos = pos[order].astype(np.int64)
        self.rows = row[pos][order].astype(np.int64)
        self.cols = col[pos][order].astype(np.int64)
        self._tree: shapely.STRtree | None = None

    def in_rows(self, first: int, last: int
                ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]] | None:
        """(rows, columns, positions) of the anchors in rows ``first``..``last``."""
        a, b = np.searchsorted(self.rows, [first, last + 1])
        if a == b:
            return None
        return self.rows[a:b], self.cols[a:b], self.pos[a:b]

    def containing(self, lon: NDArray[np.float64], lat: NDArray[np.float64],
                   may: SeriesMatcher) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Pairs (point index, stored position): the stored footprints that hold each point,
        among the stored clearings the matcher still lets a point claim."""
        if len(lon) == 0 or len(self.stored) == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        b = self.stored.state.bounds
        if len(lon) <= BRUTE_POINTS:  # a few new clearings (most weeks): no tree to build
            hits = [np.flatnonzero((b[:, 0] <= x) & (b[:, 2] >= x) & (b[:, 1] <= y)
                                   & (b[:, 3] >= y)) for x, y in zip(lon, lat, strict=True)]
            pi = np.repeat(np.arange(len(lon)), [len(h) for h in hits]).astype(np.int64)
            sp = np.concatenate(hits).astype(np.int64) if hits else np.empty(0, np.int64)
        else:
            if self._tree is None:
                self._tree = shapely.STRtree(shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3]))
            pi, sp = self._tree.query(shapely.points(lon, lat), predicate="intersects")
        keep = may.unclaimed(sp)
        pi, sp = pi[keep], sp[keep]
        if len(pi) == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        ids = self.stored.state.id[sp]
        # (the footprints as committed before this batch: read on a connection of their own)
        cols = self.store.clearings.columns(clearing_ids=np.unique(ids))
        at = np.searchsorted(cols.id, ids)
        found = (at < len(cols)) & (cols.id[np.minimum(at, len(cols) - 1)] == ids)
        pi, sp, at = pi[found], sp[found], at[found]
        inside = shapely.contains_xy(cols.geometry[at], lon[pi], lat[pi]) if len(pi) else pi
        return pi[inside].astype(np.int64), sp[inside].astype(np.int64)


def _new_values(clearings: ClearingSet) -> NewValues:
    _wkb, bounds = clearings.encoded()
    return NewValues(
        pixel_count=clearings.pixel_count.astype(np.int64),
        pixels=np.column_stack([clearings.pixels_low, clearings.pixels_high,
                                clearings.pixels_highest]).astype(np.int64),
        first_date=clearings.first_date.astype("datetime64[D]"),
        last_date=clearings.last_date.astype("datetime64[D]"),
        area_ha=clearings.area_ha.astype(np.float64),
        bounds=bounds,
        centroid=np.column_stack([clearings.centroid_lon, clearings.centroid_lat]),
    )


def ingest_raster(
    store: WorkspaceStore,
    conn: Connection,
    job: RasterJob,
    settings: Settings,
    tick: Progress,
    tally: TerritoryTally,
) -> tuple[SeriesCounts, set[int]]:
    """Read, label, place and reconcile the raster of ``job`` into batch ``job.batch_id``
    (already added in ``conn``'s transaction). Returns what the batch did to its series
    and the cases whose clearings changed."""
    info = job.info
    stored = store.series.in_extent(job.series, info.bounds_lonlat())
    conf_lut, day_lut = lookup_tables(job.product, job.filter)
    territories = tally.territories = store.territories.list()
    raster = RasterGrid.of(info)
    grid = raster.pixel_grid()
    scanline, near_rings, near_ids = raster.indexes(territories)
    labeller = Labeller(grid, scanline)
    spec = RASTER_PRODUCTS[job.product]
    buffer_m = settings.buffer_km * 1000.0
    anchors = _StoredAnchors(store, stored, info) if len(stored) else None
    matcher = SeriesMatcher(stored.state) if anchors is not None else None
    series = SeriesWriter(store, conn, job.batch_id)
    # A single writer thread stores each chunk of clearings while the next chunk is read,
    # labelled and placed; at most one chunk waits, so memory stays bounded, and a writer
    # error surfaces at the next flush.
    with ThreadPoolExecutor(1, "vigilancia-writer") as writer:
        # the nearest-boundary index is first needed at the first flush: the writer
        # thread, idle until then, builds it while the first strips are read and labelled
        # (each job runs in a copy of this context: errors are worded in the caller's language)
        index_job = writer.submit(copy_context().run, BoundaryIndex, near_rings)
        pending: list[Future[Any]] = []

        def flush(final: bool) -> None:
            comps, ov, marks = labeller.finish_marked() if final else labeller.take_marked()
            if len(comps):
                clearings = _to_clearings(comps, info)
                decision = _decide(clearings, marks, anchors, matcher)
                written = decision.new | decision.updated
                unchanged = int(decision.unchanged.sum())
                if not written.all():  # only what this batch writes is placed and written
                    keep = np.flatnonzero(written)
                    comps, ov = comps.take(keep), _overlaps_of(ov, keep)
                    clearings, decision = clearings.take(keep), decision.take(keep)
                rings = PixelPolygons(comps.xs, comps.ys, comps.ring_start, comps.ring_comp)
                placement = raster_placement(comps.area_ha, rings, comps.centroid_row, ov, grid,
                                             index_job.result(), near_ids, buffer_m)
                tally.add(clearings, placement)
                while pending:
                    pending.pop().result()
                pending.append(writer.submit(copy_context().run, series.write, clearings,
                                             placement, decision, unchanged=unchanged))
            if final:
                while pending:
                    pending.pop().result()

        strips = read_strips(info, job.bands, rows=settings.strip_rows, threads=settings.workers)
        for done_strips, (row0, data) in enumerate(strips, start=1):
            try:
                codes = spec.normalise(data, row0)
            except ProductError as exc:
                raise _product_error(info.source, exc, info.row_off, info.col_off) from exc
            runs, bad = scan_strip(codes, conf_lut, day_lut, row0)
            if bad is not None:
                raise _out_of_range(
                    info.source, job.product, bad.count, bad.value, info.row_off + bad.row,
                    info.col_off + bad.col, spec.expected
                )
            last = min(row0 + settings.strip_rows, info.height) - 1
            marks = anchors.in_rows(row0, last) if anchors is not None else None
            hit = labeller.push(runs, last, marks)
            if matcher is not None and len(hit):
                matcher.note_hits(hit)
            if done_strips % FLUSH_STRIPS == 0:
                flush(False)
            tick("monitor", last + 1, info.height)
        flush(True)
    return series.counts, series.cases()


def _overlaps_of(ov: Overlaps, keep: NDArray[np.int64]) -> Overlaps:
    """The overlaps of the components at ``keep`` (ascending), renumbered."""
    new_pos = np.full(int(ov.comp.max()) + 1 if len(ov.comp) else 0, -1, np.int64)
    inside = keep[keep < len(new_pos)]
    new_pos[inside] = np.searchsorted(keep, inside)
    rows = np.flatnonzero(new_pos[ov.comp] >= 0) if len(ov.comp) else np.empty(0, np.int64)
    return Overlaps(new_pos[ov.comp[rows]], ov.territory[rows], ov.pixels[rows],
                    ov.area_ha[rows])


def _decide(clearings: ClearingSet, marks: Marks, anchors: _StoredAnchors | None,
            matcher: SeriesMatcher | None) -> Decision:
    """What one chunk of new clearings does to the stored series."""
    n = len(clearings)
    if matcher is None or anchors is None:
        return Decision.all_new(n)
    lonely = np.ones(n, bool)
    lonely[marks.comp] = False
    idx = np.flatnonzero(lonely)
    pi, sp = anchors.containing(clearings.anchor_lon[idx], clearings.anchor_lat[idx], matcher)
    decision = matcher.decide(_new_values(clearings), marks.comp, marks.tag, idx[pi], sp)
    return _keep_what_only_shrank(decision, clearings, anchors)


def _keep_what_only_shrank(decision: Decision, clearings: ClearingSet,
                           anchors: _StoredAnchors) -> Decision:
    """A stored clearing is never made smaller by a narrower view of it: where the new
    clearing lies wholly inside the one it is (a narrower date or confidence filter, an
    alert the provider withdrew), the stored clearing stays as it was."""
    shrunk = np.array([c is not None and "shrunk" in c.split(",") for c in decision.change],
                      bool)
    if not shrunk.any():
        return decision
    at = np.flatnonzero(shrunk)
    ids = decision.target[at]
    stored = anchors.store.clearings.columns(clearing_ids=np.unique(ids))  # (as committed)
    where = np.searchsorted(stored.id, ids)
    old = stored.geometry[np.minimum(where, max(len(stored) - 1, 0))]
    new = clearings.take(at).shapes()
    # (wholly inside, to the last bit of a corner computed from another window's origin)
    outside = shapely.area(shapely.difference(new, old))
    inside = (outside <= 1e-6 * shapely.area(new)) & (
        stored.id[np.minimum(where, len(stored) - 1)] == ids)
    if not inside.any():
        return decision
    keep = at[inside]
    unchanged, change, upgraded = (decision.unchanged.copy(), decision.change.copy(),
                                   decision.upgraded.copy())
    unchanged[keep] = True
    change[keep] = None
    upgraded[keep] = 0
    return replace(decision, unchanged=unchanged, change=change, upgraded=upgraded)


def _product_error(source: str, exc: ProductError, row_off: int = 0, col_off: int = 0
                   ) -> DataFormatError:
    f = exc.found
    return _out_of_range(source, exc.product, f.count, f.value, row_off + f.row,
                         col_off + f.col, exc.expected)


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
