"""Context layers: rivers, roads, trails, settlements, airstrips, borders, exits and camps.

PURE: numpy and shapely. A context layer is a set of features that users import
from a file (``vigilancia layers import``); each has a :class:`ContextKind`, an
optional name and class (``"Río"``, ``"Quebrada"``, ``"vecinal"``...) and a point,
line or polygon geometry in EPSG:4326 (lon, lat). The driver features measure
distances to them; the routes and risk work reuses them as a network.

>>> ContextKind("river").value
'river'
>>> guess_class_field(["ID", "NOMBRE", "TIPO", "DEPARTAMENTO"])
'TIPO'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from vigilancia.domain.territories import guess_name_field

__all__ = [
    "CLASS_FIELDS",
    "ROUTE_NAME_FIELDS",
    "ContextFeatures",
    "ContextKind",
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
    ``feature_class`` text or None, ``geometry`` shapely objects in EPSG:4326.
    """

    id: NDArray[np.int64]
    kind: NDArray[np.object_]
    name: NDArray[np.object_]
    feature_class: NDArray[np.object_]
    geometry: NDArray[np.object_]

    def __post_init__(self) -> None:
        n = len(self.id)
        for name in ("kind", "name", "feature_class", "geometry"):
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
    ) -> ContextFeatures:
        """Features from parallel sequences (kinds are checked against :class:`ContextKind`)."""
        return cls(
            id=np.asarray(list(ids), dtype=np.int64).reshape(-1),
            kind=_column([ContextKind(k).value for k in kinds], object),
            name=_column(list(names), object),
            feature_class=_column(list(classes), object),
            geometry=_column(list(geometries), object),
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
        )
