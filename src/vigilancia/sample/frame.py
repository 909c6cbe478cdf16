"""The sample region's frame and drawing tools: grid, constants, lines, rings, GeoJSON.

The region is a square of ``size`` pixels of :data:`PIXEL_DEG` degrees from
(:data:`ORIGIN_LON`, :data:`ORIGIN_LAT`) at its upper-left corner. Shapes are drawn in
fractional coordinates ``u, v`` (0-1 of the region's width, ``u`` from the west, ``v``
from the north), mapped to pixels (col, row) and to lon/lat by :class:`Frame`.
GeoJSON is written by hand, so that bytes are stable and broken rings stay broken.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

PIXEL_DEG = 0.00025  # pixel size (degrees), GFW's grid
ORIGIN_LON = -75.4  # upper-left corner (degrees)
ORIGIN_LAT = -8.6
BLOCK = 400  # raster tile size (pixels)
DEFAULT_SEED = 20241
DEFAULT_SIZE = 4000  # pixels: 1 degree
MIN_SIZE = 400
GFW_EPOCH = date(2014, 12, 31)
PERIOD_START = date(2023, 1, 1)  # first and last alert dates
PERIOD_END = date(2024, 12, 31)
DAY_START = (PERIOD_START - GFW_EPOCH).days  # 2923
DAY_END = (PERIOD_END - GFW_EPOCH).days  # 3653

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
UInt16Array = NDArray[np.uint16]


# ---------------------------------------------------------------------------
# frame


@dataclass(frozen=True)
class Frame:
    """The region's grid: ``size`` x ``size`` pixels of :data:`PIXEL_DEG` degrees."""

    size: int

    @property
    def west(self) -> float:
        return ORIGIN_LON

    @property
    def north(self) -> float:
        return ORIGIN_LAT

    @property
    def east(self) -> float:
        return round(ORIGIN_LON + self.size * PIXEL_DEG, 9)

    @property
    def south(self) -> float:
        return round(ORIGIN_LAT - self.size * PIXEL_DEG, 9)

    @property
    def pixel_m(self) -> tuple[float, float]:
        """Pixel width and height in metres at the centre latitude."""
        lat = math.radians((self.north + self.south) / 2)
        return PIXEL_DEG * 111_320.0 * math.cos(lat), PIXEL_DEG * 110_574.0

    @property
    def pixel_ha(self) -> float:
        w, h = self.pixel_m
        return w * h / 10_000.0

    def uv_to_px(self, uv: FloatArray) -> FloatArray:
        return np.asarray(uv, dtype=np.float64) * self.size

    def px_to_lonlat(self, px: FloatArray) -> FloatArray:
        px = np.asarray(px, dtype=np.float64)
        lon = ORIGIN_LON + px[..., 0] * PIXEL_DEG
        lat = ORIGIN_LAT - px[..., 1] * PIXEL_DEG
        return np.stack([lon, lat], axis=-1)

    def uv_to_lonlat(self, uv: FloatArray) -> FloatArray:
        return self.px_to_lonlat(self.uv_to_px(uv))

# ---------------------------------------------------------------------------
# lines and polygons (fractional coordinates u, v)


def meander(
    rng: np.random.Generator,
    start: ArrayLike,
    end: ArrayLike,
    *,
    n: int = 160,
    amplitude: float = 0.06,
    taper_start: bool = False,
    taper_end: bool = False,
) -> FloatArray:
    """A meandering polyline from ``start`` to ``end``; lateral swings of about
    ``amplitude`` times the straight length."""
    a = np.asarray(start, dtype=np.float64)
    b = np.asarray(end, dtype=np.float64)
    d = b - a
    length = float(np.hypot(*d))
    perp = np.array([-d[1], d[0]]) / length
    t = np.linspace(0.0, 1.0, n)
    off = np.zeros(n)
    # random Fourier modes with amplitude ~ 1/f: irregular, smooth swings
    for freq in np.sort(rng.uniform(0.6, 9.0, 14)):
        amp = amplitude * length * rng.uniform(0.3, 1.0) / freq
        off += amp * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
    off -= off[0] + t * (off[-1] - off[0])  # ends stay on the straight line
    weight = np.ones(n)
    if taper_start:
        weight *= np.clip(t / 0.15, 0.0, 1.0)
    if taper_end:
        weight *= np.clip((1.0 - t) / 0.15, 0.0, 1.0)
    return a + t[:, None] * d + (off * weight)[:, None] * perp


def point_along(line: FloatArray, frac: float) -> FloatArray:
    seg = np.hypot(*np.diff(line, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    s = frac * cum[-1]
    x = np.interp(s, cum, line[:, 0])
    y = np.interp(s, cum, line[:, 1])
    return np.array([x, y])


def densify(line: FloatArray, step: float) -> FloatArray:
    """Points every ``step`` units along a polyline."""
    seg = np.hypot(*np.diff(line, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    s = np.arange(0.0, cum[-1], step)
    return np.column_stack([np.interp(s, cum, line[:, 0]), np.interp(s, cum, line[:, 1])])


def blob_ring(
    rng: np.random.Generator,
    centre: ArrayLike,
    radius: float,
    *,
    n: int = 72,
    aspect: float = 1.0,
    rotation: float = 0.0,
    roughness: float = 0.25,
) -> FloatArray:
    """A perturbed ellipse (counter-clockwise in lon/lat, not closed), shape (n, 2)."""
    theta = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 7):
        r += roughness * rng.uniform(0.2, 1.0) / (k - 1) * np.cos(k * theta + rng.uniform(0, 6.3))
    r *= 1.0 + rng.normal(0.0, 0.02, n)
    r = np.clip(r, 0.35, None) * radius
    x = r * np.cos(theta) * aspect
    y = r * np.sin(theta) / aspect
    cr, sr = math.cos(rotation), math.sin(rotation)
    centre = np.asarray(centre, dtype=np.float64)
    return np.column_stack([centre[0] + x * cr - y * sr, centre[1] + x * sr + y * cr])

# ---------------------------------------------------------------------------
# GeoJSON writing (by hand, so bytes are stable and broken rings stay broken)


def coord_list(lonlat: FloatArray) -> list[list[float]]:
    return [[round(float(x), 6), round(float(y), 6)] for x, y in lonlat]


def closed(ring: list[list[float]]) -> list[list[float]]:
    return [*ring, ring[0]]


def feature(geometry: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def write_geojson(path: Path, name: str, features: list[dict[str, Any]]) -> None:
    lines = [
        json.dumps(f, ensure_ascii=False, separators=(",", ":"), sort_keys=False) for f in features
    ]
    text = (
        '{"type":"FeatureCollection","name":'
        + json.dumps(name, ensure_ascii=False)
        + ',"features":[\n'
        + ",\n".join(lines)
        + "\n]}\n"
    )
    path.write_text(text, encoding="utf-8")
