"""What the package writers share: a feature and coordinate rounding."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from vigilancia.results import Plain

__all__ = [
    "COORD_DECIMALS",
    "MapFeature",
    "geojson_geometries",
    "geojson_geometry",
    "rounded",
]

#: Decimal places of written lon/lat (1e-7 degree is about 1 cm).
COORD_DECIMALS = 7


@dataclass(frozen=True)
class MapFeature:
    """One feature to write: a shapely geometry in lon/lat (EPSG:4326) and its attributes
    (JSON-able scalars: str, int, float, bool or None)."""

    geometry: BaseGeometry
    properties: Mapping[str, Any] = field(default_factory=dict, hash=False)


def rounded(geometry: BaseGeometry, decimals: int = COORD_DECIMALS) -> BaseGeometry:
    """``geometry`` with its coordinates rounded to ``decimals`` places (no topology change
    beyond that: vertices only move, none is dropped)."""
    return shapely.transform(geometry, lambda xy: np.round(xy, decimals))


def geojson_geometry(geometry: BaseGeometry, decimals: int = COORD_DECIMALS) -> dict[str, Any]:
    """The GeoJSON geometry object of ``geometry`` (coordinates rounded, lists not tuples)."""
    return geojson_geometries([geometry], decimals)[0]


def geojson_geometries(geometries: Sequence[BaseGeometry] | np.ndarray,
                       decimals: int = COORD_DECIMALS) -> list[dict[str, Any]]:
    """The GeoJSON geometry objects of many geometries at once (coordinates rounded, lists
    not tuples): rounded and written by GEOS in one call each, for pages of hundreds.
    Each is a :class:`~vigilancia.results.Plain` dict (JSON values only)."""
    arr = np.asarray(list(geometries), dtype=object)
    if not len(arr):
        return []
    texts = shapely.to_geojson(shapely.transform(arr, lambda xy: np.round(xy, decimals)))
    return [Plain(json.loads(t)) for t in texts.tolist()]
