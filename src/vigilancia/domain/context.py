"""Context layers: rivers, roads, trails, settlements, airstrips, borders, exits and camps.

PURE: numpy and shapely. A context layer is a set of features that users import
from a file (``vigilancia layers import``); each has a :class:`ContextKind`, an
optional name and class (``"Río"``, ``"Quebrada"``, ``"vecinal"``...) and a point,
line or polygon geometry in EPSG:4326 (lon, lat). The driver features measure
distances to them; the routes and risk work reuses them as a network.

A layer also has a *coverage*: the area where it was mapped. Outside it, a
missing river or road means nothing (the file simply does not reach there), so
the distance to that kind is unknown, never "far". By default the coverage of
an imported file is its extent, the convex hull of its features plus
:data:`COVERAGE_MARGIN_M` (:func:`extent_coverage`); a user may give the area
instead (``vigilancia layers import ... --coverage FILE``).
:class:`LayerCoverage` holds the coverage of each kind (the union over its
files) and answers whether a place lies outside it.

>>> ContextKind("river").value
'river'
>>> guess_class_field(["ID", "NOMBRE", "TIPO", "DEPARTAMENTO"])
'TIPO'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from vigilancia.domain.territories import guess_name_field

__all__ = [
    "CLASS_FIELDS",
    "COVERAGE_MARGIN_M",
    "ROUTE_NAME_FIELDS",
    "ContextFeatures",
    "ContextKind",
    "LayerCoverage",
    "extent_coverage",
    "geometry_family",
    "guess_class_field",
    "guess_context_name_field",
]


class ContextKind(StrEnum):
    """What the features of a context layer are."""

    RIVER = "river"  # rivers and streams (lines, or polygons for wide rivers)
    ROAD = "road"  # national, departmental and rural roads
    TRAIL = "trail"  # footpaths, logging tracks
    SETTLEMENT = "settlement"  # towns, villages, populated centres (points or polygons)
    AIRSTRIP = "airstrip"  # known runways (centre-lines, points or polygons)
    BORDER = "border"  # international borders
    EXIT = "exit"  # exit points of trafficking routes (ports, border crossings)
    CAMP = "camp"  # camps (logging, mining, processing)


#: Attribute names that most likely hold a feature's class, in order (case-insensitive):
#: IGN rivers (``TIPO``: Río, Quebrada), OSM (``fclass``, ``highway``, ``waterway``,
#: ``aeroway``), Natural Earth (``featurecla``).
CLASS_FIELDS: tuple[str, ...] = (
    "tipo",
    "clase",
    "class",
    "fclass",
    "featurecla",
    "categoria",
    "category",
    "highway",
    "waterway",
    "aeroway",
    "type",
)

#: Attribute names of route codes, used as names when a layer has no name field
#: (the MTC road networks: ``COD_DS12`` = ``PA-614``).
ROUTE_NAME_FIELDS: tuple[str, ...] = (
    "cod_ds12",
    "cod_ds11",
    "cod_ruta",
    "codruta",
    "ruta",
    "route",
    "ref",
)


def _lookup(columns: Iterable[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for col in columns:
        found.setdefault(str(col).lower(), str(col))
    return found


def guess_class_field(columns: Iterable[str]) -> str | None:
    """The column that most likely holds a feature's class, or None.

    >>> guess_class_field(["scalerank", "featurecla", "name"])
    'featurecla'
    >>> guess_class_field(["id", "yr", "largo"]) is None
    True
    """
    lookup = _lookup(columns)
    for candidate in CLASS_FIELDS:
        if candidate in lookup:
            return lookup[candidate]
    return None


def guess_context_name_field(columns: Iterable[str]) -> str | None:
    """The column that most likely holds a feature's name: a name, else a route code.

    >>> guess_context_name_field(["ID", "NOMBRE", "TIPO"])
    'NOMBRE'
    >>> guess_context_name_field(["COD_DS11", "COD_DS12", "TRAY_DS12", "LONGITUD"])
    'COD_DS12'
    """
    cols = [str(c) for c in columns]
    name = guess_name_field(cols)
    if name is not None:
        return name
    lookup = _lookup(cols)
    for candidate in ROUTE_NAME_FIELDS:
        if candidate in lookup:
            return lookup[candidate]
    return None


def geometry_family(geom: BaseGeometry | None) -> str | None:
    """``"point"``, ``"line"``, ``"polygon"``, or ``"mixed"`` for a mixed collection; None if empty.

    >>> geometry_family(shapely.MultiLineString([[(0, 0), (1, 1)]]))
    'line'
    """
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type == "GeometryCollection":
        families = {geometry_family(part) for part in shapely.get_parts(geom)} - {None}
    else:
        families = {_FAMILY.get(geom.geom_type)} - {None}
    if not families:
        return None
    if len(families) > 1:
        return "mixed"
    return families.pop()


_FAMILY = {
    "Point": "point",
    "MultiPoint": "point",
    "LineString": "line",
    "LinearRing": "line",
    "MultiLineString": "line",
    "Polygon": "polygon",
    "MultiPolygon": "polygon",
}


def _column(values: Any, dtype: Any) -> NDArray[Any]:
    out = np.empty(len(values), dtype=dtype)
    if len(values):
        out[:] = values
    return out


@dataclass(frozen=True)
class ContextFeatures:
    """Stored context features, one array entry per feature (all arrays of equal length).

    ``kind`` holds :class:`ContextKind` values (as text), ``name`` and
    ``feature_class`` text or None, ``geometry`` shapely objects in EPSG:4326,
    ``import_id`` the import (file) each feature came from, -1 where none is
    recorded (left empty, every feature gets -1).
    """

    id: NDArray[np.int64]
    kind: NDArray[np.object_]
    name: NDArray[np.object_]
    feature_class: NDArray[np.object_]
    geometry: NDArray[np.object_]
    import_id: NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))

    def __post_init__(self) -> None:
        n = len(self.id)
        if len(self.import_id) == 0 and n:
            object.__setattr__(self, "import_id", np.full(n, -1, np.int64))
        for name in ("kind", "name", "feature_class", "geometry", "import_id"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"ContextFeatures.{name} has {len(getattr(self, name))} items")

    def __len__(self) -> int:
        return len(self.id)

    @classmethod
    def build(
        cls,
        ids: Iterable[int],
        kinds: Iterable[str],
        names: Iterable[str | None],
        classes: Iterable[str | None],
        geometries: Iterable[BaseGeometry],
        import_ids: Iterable[int | None] | None = None,
    ) -> ContextFeatures:
        """Features from parallel sequences (kinds are checked against :class:`ContextKind`;
        an import id of None becomes -1)."""
        id_arr = np.asarray(list(ids), dtype=np.int64).reshape(-1)
        imports = (np.full(len(id_arr), -1, np.int64) if import_ids is None else
                   np.array([-1 if v is None else int(v) for v in import_ids], np.int64))
        return cls(
            id=id_arr,
            kind=_column([ContextKind(k).value for k in kinds], object),
            name=_column(list(names), object),
            feature_class=_column(list(classes), object),
            geometry=_column(list(geometries), object),
            import_id=imports,
        )

    @classmethod
    def empty(cls) -> ContextFeatures:
        return cls.build([], [], [], [], [])

    def of_kind(self, kind: ContextKind | str) -> ContextFeatures:
        """The features of one kind."""
        keep = self.kind == ContextKind(kind).value
        return ContextFeatures(
            id=self.id[keep],
            kind=self.kind[keep],
            name=self.name[keep],
            feature_class=self.feature_class[keep],
            geometry=self.geometry[keep],
            import_id=self.import_id[keep],
        )


#: Margin (m) added around the convex hull of a layer's features to make its default
#: coverage: the widest "near" ramp of the driver rules (agriculture: 2 km of a road or
#: settlement), so that a clearing just beyond the outermost mapped feature still reads as
#: near it. Farther out the file says nothing: a road may run there unmapped.
COVERAGE_MARGIN_M = 2000.0

#: Metres per degree of latitude (and of longitude at the equator), for the margin.
_METRES_PER_DEGREE = 111_320.0


def extent_coverage(
    geometries: Iterable[BaseGeometry | None], margin_m: float = COVERAGE_MARGIN_M
) -> BaseGeometry | None:
    """The default coverage of a layer: the convex hull of its features plus ``margin_m``.

    Geometries and result are lon/lat (EPSG:4326). The margin is measured in a
    plane scaled to metres at the hull's middle latitude (within about 5 % over
    the span of Peru). None when no feature has a geometry.

    >>> area = extent_coverage([shapely.Point(-75.0, -10.0), shapely.Point(-74.9, -10.0)])
    >>> round(area.bounds[0], 3), round(area.bounds[3], 3)
    (-75.018, -9.982)
    """
    geoms = np.asarray(list(geometries), dtype=object).reshape(-1)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))] if len(geoms) else geoms
    if not len(geoms):
        return None
    hull = shapely.convex_hull(shapely.geometrycollections(list(geoms)))
    minx, miny, maxx, maxy = hull.bounds
    lon0, lat0 = (minx + maxx) / 2, (miny + maxy) / 2
    kx = _METRES_PER_DEGREE * max(np.cos(np.radians(lat0)), 0.01)
    ky = _METRES_PER_DEGREE

    def to_m(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.column_stack([(xy[:, 0] - lon0) * kx, (xy[:, 1] - lat0) * ky])

    def to_deg(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.column_stack([xy[:, 0] / kx + lon0, xy[:, 1] / ky + lat0])

    grown = shapely.buffer(shapely.transform(hull, to_m), margin_m)
    out: BaseGeometry = shapely.transform(grown, to_deg)
    return out


@dataclass(frozen=True)
class LayerCoverage:
    """Where the context layers of each kind were mapped: one (multi)polygon per kind.

    ``areas`` maps a :class:`ContextKind` value to its coverage in EPSG:4326
    (the union over the kind's files). A kind without a layer has no entry:
    its distances are unknown everywhere anyway.

    >>> cov = LayerCoverage({"road": shapely.box(-75, -11, -74, -10)})
    >>> cov.outside("road", np.array([-74.5, -73.0]), np.array([-10.5, -10.5])).tolist()
    [False, True]
    >>> cov.outside("river", np.array([-73.0]), np.array([-10.5])).tolist()
    [False]
    """

    areas: Mapping[str, BaseGeometry] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for area in self.areas.values():
            shapely.prepare(area)

    def outside(self, kind: ContextKind | str, lon: NDArray[np.float64],
                lat: NDArray[np.float64]) -> NDArray[np.bool_]:
        """True where a layer of ``kind`` exists and the point (lon, lat) lies outside its
        coverage; False inside it (its edge included), for unknown coordinates, and
        everywhere when the kind has no layer."""
        lon = np.asarray(lon, np.float64).reshape(-1)
        lat = np.asarray(lat, np.float64).reshape(-1)
        area = self.areas.get(ContextKind(kind).value)
        if area is None:
            return np.zeros(len(lon), bool)
        known = np.isfinite(lon) & np.isfinite(lat)
        out = np.zeros(len(lon), bool)
        if known.any():
            out[known] = ~shapely.intersects_xy(area, lon[known], lat[known])
        return out
