"""Placement of clearings on the territories, at ingest and whenever the territories change.

A clearing's placement is the territories it overlaps (area and share of it
inside each), its nearest community or reserve boundary (and the distance), and
whether it is within the buffer of one. It is computed at ingest, for the new
clearings and those a later download updated (:mod:`vigilancia.services.raster_ingest`,
:func:`vigilancia.services.vector_alerts.reconcile_vector`; an updated clearing
joins the batch that updated it, and so its grid or frame), and recomputed, in the
same transaction as
the change, when territories are imported, replaced or removed
(:mod:`vigilancia.services.territories`), so that cases, risk and exports see
it. Recomputing gives exactly what the ingest would have given with the
territories of the moment:

- **raster clearings** are placed on the pixel grid of their batch
  (:class:`RasterGrid`, kept in the batch's ``stats["grid"]``): their polygons
  are exact unions of pixel squares, so their pixel runs are rebuilt
  (:func:`~vigilancia.domain.labelling.polygon_runs`) and a pixel counts in a
  territory when its centre is inside, as at ingest; the nearest boundary is
  measured on the same grid. A batch stored without its grid has it derived
  from its polygons when they are whole pixels of a lon/lat grid; otherwise
  its clearings are placed by geometry, as vector alerts are;
- **vector clearings** are placed by geometry in the equal-area frame of their
  batch (``stats["frame"]``, else the centre of the batch's extent), by
  :func:`~vigilancia.services.vector_alerts.place_shapes`.

Only the clearings a change can affect are recomputed (:func:`replace_clearings`):
those placed on a territory that goes or changes (:func:`clearings_placed_on`,
read before the change), those whose box meets a new territory's box, and, for
new communities and reserves, those whose stored nearest boundary is farther
than the new territory's box (:func:`~vigilancia.domain.placement.in_reach`).
A batch keeps the buffer it was placed with (``stats["buffer_m"]``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS
from pyproj.exceptions import CRSError
from sqlalchemy.engine import Connection

from vigilancia.domain.alerts import RASTER_PRODUCTS
from vigilancia.domain.clearings import Placement
from vigilancia.domain.labelling import (
    Overlaps,
    PixelGrid,
    TerritoryScanline,
    aggregate_overlaps,
    geographic_grid,
    polygon_runs,
    projected_grid,
    wkb_rings,
)
from vigilancia.domain.placement import in_reach
from vigilancia.domain.proximity import BoundaryIndex
from vigilancia.domain.territories import StoredTerritory
from vigilancia.io.crs import WGS84, transform_geometries, transformer
from vigilancia.io.store import (
    BatchRecord,
    ClearingPlacements,
    ClearingPolygons,
    WorkspaceStore,
)
from vigilancia.progress import Progress, no_progress
from vigilancia.services.vector_alerts import (
    NEAREST_KINDS,
    place_shapes,
    point_only,
    vector_frame,
)

__all__ = [
    "PLACE_STAGE",
    "PlacementUpdate",
    "RasterGrid",
    "clearings_placed_on",
    "raster_placement",
    "replace_clearings",
]

#: The stage of the re-placement's progress.
PLACE_STAGE = "place"
#: Clearings read with their polygons at once when re-placing (bounded memory).
READ_CLEARINGS = 20_000

Transform = tuple[float, float, float, float, float, float]


# ------------------------------------------------------------------ raster grids


@dataclass(frozen=True)
class RasterGrid:
    """The pixel grid of a raster batch: affine ``transform`` (a, b, c, d, e, f: x = a*col +
    b*row + c, y = d*col + e*row + f), ``crs`` and size in pixels. ``derived`` is True for a
    grid guessed from the polygons of a batch stored without its grid."""

    transform: Transform
    crs: CRS
    width: int
    height: int
    derived: bool = False

    @classmethod
    def of(cls, info: Any) -> RasterGrid:
        """The grid of a :class:`~vigilancia.io.rasters.RasterInfo`."""
        a, b, c, d, e, f = (float(v) for v in info.transform)
        return cls((a, b, c, d, e, f), info.crs, int(info.width), int(info.height))

    def to_stats(self) -> dict[str, Any]:
        """JSON form, kept in the batch's ``stats["grid"]``."""
        return {"transform": list(self.transform), "crs": self.crs.to_wkt(),
                "width": self.width, "height": self.height}

    @classmethod
    def from_stats(cls, stats: Mapping[str, Any] | None) -> RasterGrid | None:
        """The grid a batch recorded (``stats["grid"]``: ``transform`` as the six affine
        coefficients a, b, c, d, e, f, or the nine of a full affine matrix; ``crs`` as WKT
        or an EPSG code; ``width`` and ``height``), or None."""
        grid = (stats or {}).get("grid")
        if not isinstance(grid, Mapping):
            return None
        try:
            coefficients = list(grid["transform"])
            if len(coefficients) == 9 and coefficients[6:] == [0, 0, 1]:
                coefficients = coefficients[:6]
            a, b, c, d, e, f = (float(v) for v in coefficients)
            return cls((a, b, c, d, e, f), CRS.from_user_input(grid["crs"]),
                       int(grid["width"]), int(grid["height"]))
        except (KeyError, TypeError, ValueError, CRSError):
            return None

    @classmethod
    def derive(cls, geometries: NDArray[np.object_],
               extent: tuple[float, float, float, float]) -> RasterGrid | None:
        """A lon/lat grid over ``extent`` (the batch's, lon/lat) on which ``geometries`` (some
        of the batch's clearings) are whole pixels, or None when they are not.

        The pixel size is the smallest step between the polygons' vertices (a one-pixel
        run is almost always among thousands of clearings); the origin is the extent's
        north-west corner, itself a pixel corner. Placement on it counts the same pixel
        centres as the batch's own grid (metres and hectares differ in the last bits).
        """
        coords = shapely.get_coordinates(np.asarray(geometries, dtype=object))
        if len(coords) < 4:
            return None
        sizes = []
        for axis in (0, 1):
            steps = np.diff(np.unique(coords[:, axis]))
            steps = steps[steps > 1e-12]
            if not len(steps):
                return None
            sizes.append(float(steps.min()))
        dx, dy = sizes
        c, f = float(extent[0]), float(extent[3])
        cols = (coords[:, 0] - c) / dx
        rows = (f - coords[:, 1]) / dy
        if (np.abs(cols - np.round(cols)).max() > 1e-3
                or np.abs(rows - np.round(rows)).max() > 1e-3):
            return None
        width = int(np.ceil((extent[2] - c) / dx - 1e-6)) + 1
        height = int(np.ceil((f - extent[1]) / dy - 1e-6)) + 1
        return cls((dx, 0.0, c, 0.0, -dy, f), WGS84, width, height, derived=True)

    @property
    def north_up(self) -> bool:
        """True when rows and columns follow the axes (no rotation)."""
        return self.transform[1] == 0.0 and self.transform[3] == 0.0

    def pixel_grid(self) -> PixelGrid:
        """Metric size of the pixels, row by row (exact areas on the ellipsoid for lon/lat)."""
        a, _b, _c, _d, e, f = self.transform
        if self.crs.is_geographic:
            return geographic_grid(f, -e, a, self.height, self.width)
        unit = self.crs.axis_info[0].unit_conversion_factor if self.crs.axis_info else 1.0
        return projected_grid(a * unit, -e * unit, self.height, self.width)

    def pixel_rings(
        self, territories: Sequence[StoredTerritory]
    ) -> tuple[list[tuple[int, NDArray[np.float64]]], list[bool]]:
        """Every territory ring in the grid's pixel coordinates, and whether its territory
        touches the grid."""
        a, _b, c, _d, e, f = self.transform
        minx, maxx = sorted((c, c + a * self.width))
        miny, maxy = sorted((f, f + e * self.height))
        geoms = transform_geometries([t.geometry for t in territories], WGS84, self.crs)
        box = shapely.box(minx, miny, maxx, maxy)
        rings: list[tuple[int, NDArray[np.float64]]] = []
        touching: list[bool] = []
        for t, g in zip(territories, geoms, strict=True):
            if g is None:
                continue
            inside = bool(shapely.intersects(g, box))
            for poly in shapely.get_parts(g):
                for ring in [poly.exterior, *poly.interiors]:
                    xy = shapely.get_coordinates(ring)
                    px = np.column_stack([(xy[:, 0] - c) / a, (xy[:, 1] - f) / e])
                    rings.append((t.id, px))
                    touching.append(inside)
        return rings, touching

    def indexes(
        self, territories: Sequence[StoredTerritory]
    ) -> tuple[TerritoryScanline | None, list[tuple[int, NDArray[np.float64]]], frozenset[int]]:
        """The overlap scanline (territories of every kind touching the grid), the rings of
        the nearest-boundary index (communities and reserves, wherever they are) and the
        ids of the latter.

        The nearest-boundary rings come in the territories'
        :attr:`~vigilancia.domain.territories.StoredTerritory.nearest_order` (what breaks
        a tie of distances), so that a clearing is given the same nearest territory
        whatever other territories there are and whatever their ids."""
        near_ids = frozenset(t.id for t in territories if t.kind in NEAREST_KINDS)
        if not territories:
            return None, [], near_ids
        rings, touching = self.pixel_rings(territories)
        scanline = TerritoryScanline([r for r, hit in zip(rings, touching, strict=True) if hit])
        key = {t.id: t.nearest_order for t in territories}
        near = sorted((r for r in rings if r[0] in near_ids), key=lambda r: key[r[0]])
        return scanline, near, near_ids



@dataclass(frozen=True)
class PixelPolygons:
    """Clearings as closed rings of pixel corners: ring ``k`` spans
    ``xs/ys[ring_start[k]:ring_start[k+1]]`` and belongs to clearing ``ring_comp[k]``."""

    xs: NDArray[np.float64]
    ys: NDArray[np.float64]
    ring_start: NDArray[np.int64]
    ring_comp: NDArray[np.int64]


def raster_placement(
    area_ha: NDArray[np.float64],
    rings: PixelPolygons,
    centroid_row: NDArray[np.float64],
    ov: Overlaps,
    grid: PixelGrid,
    index: BoundaryIndex,
    near_ids: frozenset[int],
    buffer_m: float,
) -> Placement:
    """Overlaps from pixel centres (``ov``); nearest community or reserve boundary on the
    pixel grid, from the clearings' ``rings``.

    A clearing is within the buffer when it overlaps a community or reserve, or
    lies within ``buffer_m`` metres of the boundary of one.
    """
    n = len(area_ha)
    share = ov.area_ha / np.maximum(area_ha[ov.comp], 1e-12) if len(ov.comp) else ov.area_ha
    nearest, distance = index.nearest(
        rings.xs, rings.ys, rings.ring_start, rings.ring_comp, centroid_row,
        mx=grid.mx, my=grid.my,
    )
    with np.errstate(invalid="ignore"):
        within = distance <= buffer_m
    if len(ov.comp) and near_ids:
        hit = np.isin(ov.territory, np.fromiter(near_ids, np.int64, len(near_ids)))
        within[ov.comp[hit]] = True
    return Placement(
        overlap_clearing=ov.comp.astype(np.int64),
        overlap_territory=ov.territory.astype(np.int64),
        overlap_area_ha=ov.area_ha.astype(np.float64),
        overlap_share=np.minimum(share, 1.0).astype(np.float64),
        nearest_territory=nearest[:n],
        boundary_distance_m=distance[:n],
        within_buffer=within[:n],
    )


def _pixel_polygons(wkb: list[bytes], grid: RasterGrid) -> PixelPolygons | None:
    """The rings of stored polygons (WKB, EPSG:4326) in the grid's pixel corners, or None when
    they are not whole pixels of it."""
    found = wkb_rings(wkb)
    if found is None:  # not the store's own encoding: read them with shapely
        geoms = np.asarray(shapely.from_wkb(np.asarray(wkb, dtype=object)), dtype=object)
        parts, part_of = shapely.get_parts(geoms, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        coords, vertex_ring = shapely.get_coordinates(rings, return_index=True)
        counts = np.bincount(vertex_ring, minlength=len(rings))
        start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        found = coords[:, 0], coords[:, 1], start, np.asarray(part_of[ring_part], np.int64)
    lon, lat, ring_start, ring_comp = found
    if grid.crs == WGS84:
        x, y = lon, lat
    else:
        x, y = (np.asarray(v, np.float64) for v in transformer(WGS84, grid.crs).transform(lon, lat))
    a, _b, c, _d, e, f = grid.transform
    cols = (x - c) / a
    rows = (y - f) / e
    xs, ys = np.round(cols), np.round(rows)
    if len(xs) and max(np.abs(cols - xs).max(), np.abs(rows - ys).max()) > 1e-3:
        return None
    return PixelPolygons(xs, ys, ring_start, ring_comp)


class _GridIndexes:
    """The territories on one raster grid: pixel metrics, overlap scanline and
    nearest-boundary index (made once per grid; weekly batches of a tile share theirs)."""

    def __init__(self, grid: RasterGrid, territories: Sequence[StoredTerritory]) -> None:
        self.pixels = grid.pixel_grid()
        self.scanline, near_rings, self.near_ids = grid.indexes(territories)
        self.index = BoundaryIndex(near_rings)


class _RasterBatch:
    """Re-placement of the clearings of one raster batch on its grid."""

    def __init__(self, grid: RasterGrid, indexes: _GridIndexes, buffer_m: float) -> None:
        self.grid = grid
        self.pixels = indexes.pixels
        self.scanline, self.index, self.near_ids = (indexes.scanline, indexes.index,
                                                    indexes.near_ids)
        self.buffer_m = buffer_m

    def place(self, cols: ClearingPolygons) -> Placement | None:
        """The placement of ``cols`` (None when their polygons are not pixels of the grid)."""
        rings = _pixel_polygons(cols.wkb, self.grid)
        if rings is None or (len(rings.ys) and (
                rings.ys.min() < 0 or rings.ys.max() > self.grid.height)):
            return None  # (not pixels of this grid: the caller places them by geometry)
        try:
            runs = polygon_runs(rings.xs, rings.ys, rings.ring_start, rings.ring_comp, len(cols))
        except ValueError:
            return None
        by_row, comp_of_run = runs.by_row()
        if self.scanline is not None and len(by_row):
            self.scanline.reset()
            h_run, h_tid, h_pix, h_area = self.scanline.hits(by_row, self.pixels.row_area_ha)
            ov = aggregate_overlaps(comp_of_run[h_run], h_tid, h_pix,
                                    np.asarray(h_area, np.float64))
        else:
            none = np.empty(0, np.int64)
            ov = aggregate_overlaps(none, none, none, np.empty(0, np.float64))
        return raster_placement(np.asarray(cols.area_ha, np.float64), rings,
                                runs.centroid_row, ov, self.pixels, self.index, self.near_ids,
                                self.buffer_m)


# --------------------------------------------------------------------- re-placing


@dataclass(frozen=True)
class PlacementUpdate:
    """What a re-placement did: clearings placed again (``clearings``) in how many batches,
    how many of them now have another nearest territory or another set of overlapped
    territories (``moved``), the clearings of raster batches that were placed by
    geometry because their grid is not known (``by_geometry``), and how many stored
    placements changed at all (``written``: a distance, a share...)."""

    clearings: int = 0
    batches: int = 0
    moved: int = 0
    by_geometry: int = 0
    written: int = 0  # clearings whose stored placement changed (rewritten)
    seconds: float = field(default=0.0, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"clearings": self.clearings, "batches": self.batches, "moved": self.moved,
                "by_geometry": self.by_geometry, "written": self.written,
                "seconds": round(self.seconds, 3)}


def clearings_placed_on(store: WorkspaceStore, conn: Connection,
                        territories: Sequence[StoredTerritory]) -> NDArray[np.int64]:
    """The clearings placed on ``territories`` (overlapping them, or nearest to them): read
    before the territories change or go, so that :func:`replace_clearings` re-places them."""
    return store.clearings.placed_on([t.id for t in territories], conn=conn)


def replace_clearings(
    store: WorkspaceStore,
    conn: Connection,
    *,
    placed_on_old: NDArray[np.int64],
    new: Sequence[StoredTerritory],
    buffer_m: float,
    progress: Progress | None = None,
) -> PlacementUpdate:
    """Re-place, inside ``conn`` (the transaction that changed the territories), the
    clearings a change of territories can affect.

    ``placed_on_old``: the clearings that were placed on territories that went or
    changed (:func:`clearings_placed_on`, read before the change); ``new``: the
    territories added or changed (as stored now). ``buffer_m`` is the buffer of the
    batches that do not record theirs. Every clearing chosen gets the placement the
    ingest gives with the territories stored now.
    """
    t0 = time.perf_counter()
    tick = progress or no_progress
    places = store.clearings.placements(conn=conn)
    chosen = np.isin(places.id, placed_on_old)
    if new:
        bounds = np.array([t.geometry.bounds for t in new], np.float64).reshape(-1, 4)
        near = np.array([t.kind in NEAREST_KINDS for t in new], bool)
        chosen |= in_reach(places.bounds, places.boundary_distance_m, bounds, near)
    ids = places.id[chosen]
    if not len(ids):
        return PlacementUpdate(seconds=time.perf_counter() - t0)
    territories = store.territories.list(conn=conn)
    batches = {b.id: b for b in store.batches.list(conn=conn)}
    batch_of = places.batch_id[chosen]
    before = _Before(store, conn, ids, places, chosen)
    grids: dict[str, _GridIndexes] = {}
    done = moved = by_geometry = written = 0
    tick(PLACE_STAGE, 0, len(ids))
    for batch_id in np.unique(batch_of).tolist():
        members = ids[batch_of == batch_id]
        batch = batches[int(batch_id)]
        placer = _placer(store, conn, batch, members, territories, buffer_m, grids)
        for start in range(0, len(members), READ_CLEARINGS):
            cols = store.clearings.polygons(clearing_ids=members[start:start + READ_CLEARINGS],
                                            conn=conn)
            placement, geometric = placer(cols)
            by_geometry += len(cols) if geometric else 0
            changed, moves = before.compare(cols.id, placement)
            moved += moves
            if changed.any():  # (only what changed is written)
                store.clearings.set_placement(conn, cols.id[changed], _take(placement, changed))
                written += int(changed.sum())
            done += len(cols)
            tick(PLACE_STAGE, done, len(ids))
    return PlacementUpdate(len(ids), len(np.unique(batch_of)), moved, by_geometry, written,
                           time.perf_counter() - t0)


def _take(placement: Placement, keep: NDArray[np.bool_]) -> Placement:
    """The placement of the clearings where ``keep`` is True (overlaps renumbered)."""
    new_index = np.cumsum(keep) - 1
    sel = keep[placement.overlap_clearing]
    return Placement(
        overlap_clearing=new_index[placement.overlap_clearing[sel]].astype(np.int64),
        overlap_territory=placement.overlap_territory[sel],
        overlap_area_ha=placement.overlap_area_ha[sel],
        overlap_share=placement.overlap_share[sel],
        nearest_territory=placement.nearest_territory[keep],
        boundary_distance_m=placement.boundary_distance_m[keep],
        within_buffer=placement.within_buffer[keep],
    )


def batch_buffer_m(batch: BatchRecord, default_m: float) -> float:
    """The buffer (m) a batch was placed with (``stats["buffer_m"]``), else ``default_m``."""
    value = (batch.stats or {}).get("buffer_m")
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else default_m


def _placer(store: WorkspaceStore, conn: Connection, batch: BatchRecord,
            members: NDArray[np.int64], territories: Sequence[StoredTerritory],
            default_buffer_m: float, grids: dict[str, _GridIndexes]) -> Any:
    """A function placing some clearings of ``batch``: ``cols -> (placement, by_geometry)``."""
    buffer_m = batch_buffer_m(batch, default_buffer_m)
    frame = _frame(store, conn, batch)
    raster = None
    if batch.product in RASTER_PRODUCTS:
        grid = RasterGrid.from_stats(batch.stats)
        extent = store.clearings.extent([batch.id], conn=conn)
        if grid is None and extent is not None:
            sample = store.clearings.polygons(clearing_ids=members[:READ_CLEARINGS], conn=conn)
            grid = RasterGrid.derive(shapely.from_wkb(np.asarray(sample.wkb, dtype=object)),
                                     extent)
        if grid is not None and grid.north_up:
            key = json.dumps(grid.to_stats(), sort_keys=True)
            if key not in grids:
                grids[key] = _GridIndexes(grid, territories)
            raster = _RasterBatch(grid, grids[key], buffer_m)

    def place(cols: ClearingPolygons) -> tuple[Placement, bool]:
        if raster is not None:
            found = raster.place(cols)
            if found is not None:
                return found, False
        flag = point_only(cols.perimeter_m, cols.pixel_count)
        shapes = shapely.from_wkb(np.asarray(cols.wkb, dtype=object))
        placement = place_shapes(shapes, cols.area_ha, cols.centroid_lon, cols.centroid_lat,
                                 territories, buffer_m=buffer_m, use_point=flag, frame=frame)
        return placement, batch.product in RASTER_PRODUCTS

    return place


def _frame(store: WorkspaceStore, conn: Connection, batch: BatchRecord) -> tuple[float, float]:
    """The equal-area frame a batch's clearings are placed in by geometry: the one it
    recorded, else the one of its whole extent (what its ingest took)."""
    value = (batch.stats or {}).get("frame")
    if isinstance(value, list | tuple) and len(value) == 2:
        return float(value[0]), float(value[1])
    extent = store.clearings.extent([batch.id], conn=conn)
    if extent is None:
        return 0.0, 0.0
    box = shapely.box(*extent)
    return vector_frame(np.array([box], dtype=object), [np.nan], [np.nan])


class _Before:
    """The stored placement of the chosen clearings, to tell which ones a new placement
    changes (to write only those) and which move (another nearest territory or another
    set of overlapped territories)."""

    def __init__(self, store: WorkspaceStore, conn: Connection, ids: NDArray[np.int64],
                 places: ClearingPlacements, chosen: NDArray[np.bool_]) -> None:
        self.ids = ids
        self.nearest = places.nearest_territory_id[chosen]
        self.distance = places.boundary_distance_m[chosen]
        self.within = places.within_buffer[chosen]
        self.overlaps: dict[int, tuple[tuple[int, float, float], ...]] = {}
        found = store.clearings.overlaps(clearing_ids=ids, conn=conn)
        rows: dict[int, list[tuple[int, float, float]]] = {}
        for cid, tid, area, share in zip(found.clearing_id.tolist(), found.territory_id.tolist(),
                                          found.area_ha.tolist(), found.share.tolist(),
                                          strict=True):
            rows.setdefault(cid, []).append((tid, area, share))
        self.overlaps = {cid: tuple(sorted(v)) for cid, v in rows.items()}

    def compare(self, ids: NDArray[np.int64], placement: Placement
                ) -> tuple[NDArray[np.bool_], int]:
        """Which of ``ids`` the new ``placement`` changes, and how many of them move."""
        pos = np.searchsorted(self.ids, ids)
        new_rows: dict[int, list[tuple[int, float, float]]] = {}
        for k, tid, area, share in zip(placement.overlap_clearing.tolist(),
                                       placement.overlap_territory.tolist(),
                                       placement.overlap_area_ha.tolist(),
                                       placement.overlap_share.tolist(), strict=True):
            new_rows.setdefault(int(ids[k]), []).append((tid, area, share))
        new = {cid: tuple(sorted(v)) for cid, v in new_rows.items()}
        near_moved = self.nearest[pos] != placement.nearest_territory
        same_dist = (self.distance[pos] == placement.boundary_distance_m) | (
            np.isnan(self.distance[pos]) & np.isnan(placement.boundary_distance_m))
        changed = near_moved | ~same_dist | (self.within[pos] != placement.within_buffer)
        moved = near_moved.copy()
        for i, cid in enumerate(ids.tolist()):
            old_rows, new_rows_of = self.overlaps.get(cid, ()), new.get(cid, ())
            if old_rows != new_rows_of:
                changed[i] = True
                if [r[0] for r in old_rows] != [r[0] for r in new_rows_of]:
                    moved[i] = True
        return changed, int(moved.sum())
