"""Pixel metrics of a raster grid: the area and sides of its pixels, row by row.

:func:`geographic_grid` measures a lon/lat grid exactly on the WGS84 ellipsoid
(equal-area: authalic latitude), :func:`projected_grid` a grid in metres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class PixelGrid:
    """Metric size of the raster's pixels per row (index = pixel row).

    ``row_area_ha``: area of one pixel of the row in hectares (equal-area);
    ``mx``/``my``: metres per pixel along columns and rows; ``ysign`` is 1 for
    north-up rasters (rows grow southwards) and -1 otherwise.
    """

    row_area_ha: NDArray[np.float64]
    mx: NDArray[np.float64]
    my: NDArray[np.float64]
    width: int
    ysign: float = 1.0


_A = 6378137.0
_F = 1 / 298.257223563
_E2 = _F * (2 - _F)
_E = math.sqrt(_E2)


def _authalic_q(lat_rad: NDArray[np.float64]) -> NDArray[np.float64]:
    s = np.sin(lat_rad)
    return (1 - _E2) * (
        s / (1 - _E2 * s * s) - (1 / (2 * _E)) * np.log((1 - _E * s) / (1 + _E * s))
    )


def geographic_grid(top_lat: float, dlat: float, dlon: float, height: int, width: int) -> PixelGrid:
    """Exact pixel areas and local scales for a lon/lat grid (degrees; ``dlat`` > 0 for north-up).

    The area of a cell between two parallels is ``a^2 * dlon * (q(lat1) - q(lat2)) / 2``
    with ``q`` the authalic function of the WGS84 ellipsoid; pixel edge lengths
    use the radii of curvature at the row centre.

    >>> g = geographic_grid(0.00025, 0.00025, 0.00025, 1, 1)  # at the equator
    >>> round(float(g.row_area_ha[0]), 6)  # 27.83 m x 27.64 m
    0.076932
    """
    edges = np.radians(top_lat - dlat * np.arange(height + 1, dtype=np.float64))
    q = _authalic_q(edges)
    area_m2 = np.abs(_A * _A * math.radians(dlon) * (q[:-1] - q[1:]) / 2)
    centre = (edges[:-1] + edges[1:]) / 2
    s2 = np.sin(centre) ** 2
    n_rad = _A / np.sqrt(1 - _E2 * s2)  # prime vertical radius
    m_rad = _A * (1 - _E2) / (1 - _E2 * s2) ** 1.5  # meridional radius
    mx = n_rad * np.cos(centre) * math.radians(dlon)
    my = m_rad * math.radians(abs(dlat))
    return PixelGrid(area_m2 / 1e4, mx, my, width, 1.0 if dlat > 0 else -1.0)


def projected_grid(dx_m: float, dy_m: float, height: int, width: int) -> PixelGrid:
    """Pixel metrics for a projected grid in metres (``dy_m`` > 0 for north-up)."""
    return PixelGrid(
        np.full(height, abs(dx_m * dy_m) / 1e4),
        np.full(height, abs(dx_m)),
        np.full(height, abs(dy_m)),
        width,
        1.0 if dy_m > 0 else -1.0,
    )
