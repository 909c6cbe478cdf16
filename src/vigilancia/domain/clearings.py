"""Clearings: groups of connected alert pixels (or vector alerts) with shape features.

A :class:`ClearingSet` is columnar (one numpy array per field) because a run
over a 40000 x 40000 tile yields hundreds of thousands of clearings. Units:
areas in hectares, lengths in metres, orientation in degrees clockwise from
north in [0, 180), dates as ``datetime64[D]``.

Shape features:
- ``length_m``/``width_m``/``orientation_deg``: the minimum rotated rectangle
  around the clearing, measured in a local metric frame;
- ``elongation`` = length / width (1 for a square, ~30 for a runway);
- ``compactness`` = 4 pi A / P^2 (Polsby-Popper; 1 for a disc, 0.785 for a square).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


#: Fields that may be left empty (length 0) instead of holding one entry per clearing.
_OPTIONAL = frozenset({"geometry", "source_ref", "wkb", "bounds", "anchor_lon", "anchor_lat"})


@dataclass(frozen=True)
class ClearingSet:
    """Clearings of one batch, one array entry per clearing (all arrays have equal length).

    Geometries (EPSG:4326) are held as shapely objects in ``geometry``, as ISO
    WKB bytes in ``wkb`` with their ``bounds`` (n, 4: minx, miny, maxx, maxy),
    or both. A raster batch of hundreds of thousands of clearings arrives as
    WKB, straight from the pixel rings, and is stored without ever creating
    geometry objects; :meth:`shapes` gives shapely objects either way.

    ``anchor_lon``/``anchor_lat`` (raster clearings; empty otherwise): the centre
    of the clearing's first pixel in raster order (top row, leftmost), a point
    inside its footprint by which a later download of the product finds it.
    """

    geometry: NDArray[np.object_]  # shapely Polygon/MultiPolygon, or empty when wkb is given
    area_ha: FloatArray
    perimeter_m: FloatArray  # NaN where the geometry does not allow it (bbox-only alerts)
    length_m: FloatArray
    width_m: FloatArray
    orientation_deg: FloatArray
    elongation: FloatArray
    compactness: FloatArray
    first_date: NDArray[np.datetime64]
    last_date: NDArray[np.datetime64]
    pixels_low: IntArray
    pixels_high: IntArray
    pixels_highest: IntArray
    pixel_count: IntArray  # 0 for vector alerts
    centroid_lon: FloatArray
    centroid_lat: FloatArray
    source_ref: NDArray[np.object_] = field(
        default_factory=lambda: np.empty(0, dtype=object)
    )  # id in the source product (e.g. MapBiomas alert code), or None
    wkb: NDArray[np.object_] = field(default_factory=lambda: np.empty(0, dtype=object))
    bounds: FloatArray = field(default_factory=lambda: np.empty((0, 4), np.float64))
    anchor_lon: FloatArray = field(default_factory=lambda: np.empty(0, np.float64))
    anchor_lat: FloatArray = field(default_factory=lambda: np.empty(0, np.float64))

    def __post_init__(self) -> None:
        n = len(self.area_ha)
        if len(self.source_ref) == 0 and n:
            object.__setattr__(self, "source_ref", np.full(n, None, dtype=object))
        for f in fields(self):
            size = len(getattr(self, f.name))
            if size != n and not (f.name in _OPTIONAL and size == 0):
                raise ValueError(f"ClearingSet.{f.name} has {size} items, not {n}")
        if n and len(self.geometry) == 0 and (len(self.wkb) == 0 or len(self.bounds) == 0):
            raise ValueError("ClearingSet needs geometry, or wkb with bounds")

    def __len__(self) -> int:
        return len(self.area_ha)

    def shapes(self) -> NDArray[np.object_]:
        """The geometries as shapely objects (decoded from ``wkb`` when only that is held)."""
        if len(self.geometry) or not len(self):
            return self.geometry
        import shapely

        return np.asarray(shapely.from_wkb(self.wkb), dtype=object)

    def encoded(self) -> tuple[NDArray[np.object_], FloatArray]:
        """(WKB bytes, bounds) of the geometries, encoded now when not already held."""
        if len(self.wkb) == len(self) and len(self.bounds) == len(self):
            return self.wkb, self.bounds
        import shapely

        return (np.asarray(shapely.to_wkb(self.geometry), dtype=object),
                np.asarray(shapely.bounds(self.geometry), np.float64).reshape(-1, 4))

    @classmethod
    def empty(cls) -> ClearingSet:
        f8 = np.empty(0, np.float64)
        i8 = np.empty(0, np.int64)
        d = np.empty(0, "datetime64[D]")
        return cls(
            geometry=np.empty(0, object), area_ha=f8, perimeter_m=f8, length_m=f8, width_m=f8,
            orientation_deg=f8, elongation=f8, compactness=f8, first_date=d, last_date=d,
            pixels_low=i8, pixels_high=i8, pixels_highest=i8, pixel_count=i8,
            centroid_lon=f8, centroid_lat=f8,
        )

    @classmethod
    def concat(cls, parts: list[ClearingSet]) -> ClearingSet:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        if len({(bool(len(p.geometry)), bool(len(p.wkb))) for p in parts}) > 1:
            parts = [p.with_shapes() for p in parts]
        if len({bool(len(p.anchor_lon)) for p in parts}) > 1:  # some without anchors
            parts = [p if len(p.anchor_lon) else replace(
                p, anchor_lon=np.full(len(p), np.nan), anchor_lat=np.full(len(p), np.nan))
                for p in parts]
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts])
                      for f in fields(cls)})

    def with_shapes(self) -> ClearingSet:
        """The same set holding shapely geometries (and no WKB)."""
        return replace(self, geometry=self.shapes(), wkb=np.empty(0, dtype=object),
                       bounds=np.empty((0, 4), np.float64))

    def take(self, index: NDArray[Any]) -> ClearingSet:
        """A new set with the clearings at ``index`` (integer positions or boolean mask)."""
        return ClearingSet(**{
            f.name: v[index] if len(v := getattr(self, f.name)) else v for f in fields(self)
        })


@dataclass(frozen=True)
class Placement:
    """Where each clearing of a :class:`ClearingSet` lies relative to the territories.

    ``overlap_*`` arrays are parallel: clearing ``overlap_clearing[k]`` has
    ``overlap_area_ha[k]`` hectares (share ``overlap_share[k]`` of its area)
    inside territory ``overlap_territory[k]`` (a stored territory id).
    Rasters count a pixel as inside when its centre is inside (as GDAL's
    rasterize and rasterstats do); vector alerts use exact polygon overlap, or
    the alert point when only a point and a box are known.

    Per clearing: ``nearest_territory`` is the id of the community or reserve
    territory whose boundary is closest (-1 when there is none),
    ``boundary_distance_m`` the distance from the clearing to that boundary, and
    ``within_buffer`` whether the clearing is inside a territory or within the
    buffer distance of one.
    """

    overlap_clearing: IntArray
    overlap_territory: IntArray
    overlap_area_ha: FloatArray
    overlap_share: FloatArray
    nearest_territory: IntArray
    boundary_distance_m: FloatArray
    within_buffer: NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.nearest_territory)

    def take(self, index: NDArray[Any]) -> Placement:
        """The placement of the clearings at ``index`` (positions, or a boolean mask), in
        that order, with their overlap rows (renumbered)."""
        n = len(self)
        pick = np.arange(n)[index] if np.asarray(index).dtype == bool else np.asarray(
            index, np.int64)
        new_pos = np.full(n, -1, np.int64)
        new_pos[pick] = np.arange(len(pick))
        rows = np.flatnonzero(new_pos[self.overlap_clearing] >= 0) if len(
            self.overlap_clearing) else np.empty(0, np.int64)
        order = np.argsort(new_pos[self.overlap_clearing[rows]], kind="stable")
        rows = rows[order]
        return Placement(
            overlap_clearing=new_pos[self.overlap_clearing[rows]],
            overlap_territory=self.overlap_territory[rows],
            overlap_area_ha=self.overlap_area_ha[rows],
            overlap_share=self.overlap_share[rows],
            nearest_territory=self.nearest_territory[pick],
            boundary_distance_m=self.boundary_distance_m[pick],
            within_buffer=self.within_buffer[pick],
        )

    @classmethod
    def empty(cls, n: int = 0) -> Placement:
        i8 = np.empty(0, np.int64)
        f8 = np.empty(0, np.float64)
        return cls(
            overlap_clearing=i8, overlap_territory=i8, overlap_area_ha=f8, overlap_share=f8,
            nearest_territory=np.full(n, -1, np.int64),
            boundary_distance_m=np.full(n, np.nan),
            within_buffer=np.zeros(n, bool),
        )
