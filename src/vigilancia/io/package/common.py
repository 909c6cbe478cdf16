"""What the package writers share: a feature and coordinate rounding."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

__all__ = ["COORD_DECIMALS", "MapFeature", "geojson_geometry", "rounded"]

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
    return dict(_plain(mapping(rounded(geometry, decimals))))


def _plain(value: Any) -> Any:
    """Tuples (as shapely's ``mapping`` gives them) to lists, recursively."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value
