"""Web map tiles: Web Mercator "world" coordinates, Morton keys, tile ranges and thinning.

PURE: numpy and stdlib. The map of the web app reads clearings tile by tile (XYZ
tiles of EPSG:3857, as MapLibre asks for them). Each clearing's centroid gets a
**Morton key** (``qkey``): its world position at :data:`QKEY_LEVEL` (2.4 m cells),
the x and y bits interleaved. Every tile at zoom ``z`` then holds one contiguous
range of keys (:func:`tile_key_range`), so a B-tree on the key reads a tile's
clearings and nothing else, on SQLite and PostgreSQL alike.

At low zooms a tile would hold hundreds of thousands of clearings. **Thinning**
(:func:`thin_minzoom`) gives each clearing the lowest zoom it is drawn at: at zoom
``z`` each tile is cut into ``2**CELL_BITS`` x ``2**CELL_BITS`` cells and the largest
clearing of each cell is drawn from that zoom on. A tile at zoom ``z`` thus holds at
most about ``4/3 * 4**CELL_BITS`` clearings (1,365 with 32 x 32 cells), whatever the
density, and from :data:`FULL_ZOOM` on every clearing is drawn.

>>> x, y = world_xy(np.array([0.0]), np.array([0.0])); float(x[0]), float(y[0])
(0.5, 0.5)
>>> tile_key_range(0, 0, 0) == (0, 4 ** QKEY_LEVEL - 1)
True
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CELL_BITS",
    "FULL_ZOOM",
    "MAX_LAT",
    "QKEY_LEVEL",
    "cover_ranges",
    "merge_ranges",
    "morton",
    "qkeys",
    "thin_minzoom",
    "tile_bounds",
    "tile_key_range",
    "world_xy",
]

#: Web Mercator's latitude limit (degrees).
MAX_LAT = 85.0511287798
#: Zoom level of the Morton keys (2**24 cells per side: 2.4 m at the equator).
QKEY_LEVEL = 24
#: Thinning cells per tile side, as a power of two (32 x 32 cells of 8 screen pixels).
CELL_BITS = 5
#: From this zoom on every clearing is drawn (thinning applies below it).
FULL_ZOOM = 13

FloatArray = NDArray[np.float64]


def world_xy(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Lon/lat (degrees) to world coordinates: 0-1 from west to east and from north to south."""
    lon = np.asarray(lon, np.float64)
    lat = np.clip(np.asarray(lat, np.float64), -MAX_LAT, MAX_LAT)
    x = (lon + 180.0) / 360.0
    s = np.sin(np.radians(lat))
    y = 0.5 - np.log((1 + s) / (1 - s)) / (4 * math.pi)
    return x, y


def _spread(v: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """The bits of 32-bit ``v`` moved to the even positions of a 64-bit word."""
    v = v & np.uint64(0x00000000FFFFFFFF)
    v = (v | (v << np.uint64(16))) & np.uint64(0x0000FFFF0000FFFF)
    v = (v | (v << np.uint64(8))) & np.uint64(0x00FF00FF00FF00FF)
    v = (v | (v << np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    v = (v | (v << np.uint64(2))) & np.uint64(0x3333333333333333)
    v = (v | (v << np.uint64(1))) & np.uint64(0x5555555555555555)
    return v


def morton(ix: NDArray[np.integer], iy: NDArray[np.integer]) -> NDArray[np.int64]:
    """Morton (Z-order) keys of cell columns ``ix`` and rows ``iy``: x on the even bits.

    >>> morton(np.array([1, 0, 1]), np.array([0, 1, 1])).tolist()
    [1, 2, 3]
    """
    x = _spread(np.asarray(ix).astype(np.uint64))
    y = _spread(np.asarray(iy).astype(np.uint64))
    return (x | (y << np.uint64(1))).astype(np.int64)


def qkeys(lon: FloatArray, lat: FloatArray) -> NDArray[np.int64]:
    """The Morton key of each point at :data:`QKEY_LEVEL`."""
    n = 1 << QKEY_LEVEL
    x, y = world_xy(lon, lat)
    ix = np.clip(np.floor(x * n), 0, n - 1).astype(np.int64)
    iy = np.clip(np.floor(y * n), 0, n - 1).astype(np.int64)
    return morton(ix, iy)


def tile_key_range(z: int, x: int, y: int) -> tuple[int, int]:
    """The first and last Morton key (inclusive) of tile ``z/x/y``."""
    shift = 2 * (QKEY_LEVEL - z)
    first = int(morton(np.array([x]), np.array([y]))[0]) << shift
    return first, first + (1 << shift) - 1


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Lon/lat bounds (west, south, east, north) of tile ``z/x/y``."""
    n = 1 << z

    def lat(row: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360.0 - 180.0, lat(y + 1), (x + 1) / n * 360.0 - 180.0, lat(y)


def merge_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Inclusive key ranges sorted, with touching or overlapping ones joined.

    >>> merge_ranges([(8, 11), (0, 3), (4, 7), (20, 23)])
    [(0, 11), (20, 23)]
    """
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _tiles_over(bounds: tuple[float, float, float, float], z: int) -> Iterator[tuple[int, int]]:
    n = 1 << z
    west, south, east, north = bounds
    xs, ys = world_xy(np.array([west, east]), np.array([north, south]))
    x0, x1 = (int(min(n - 1, max(0, math.floor(v * n)))) for v in xs)
    y0, y1 = (int(min(n - 1, max(0, math.floor(v * n)))) for v in ys)
    for tx in range(x0, x1 + 1):
        for ty in range(y0, y1 + 1):
            yield tx, ty


def cover_ranges(
    bounds: tuple[float, float, float, float], max_tiles: int = 16
) -> list[tuple[int, int]]:
    """Morton key ranges whose tiles cover lon/lat ``bounds`` (west, south, east, north):
    the tiles of the deepest zoom at which at most ``max_tiles`` tiles do, merged.

    The ranges may hold keys outside ``bounds``: filter the rows they read.
    """
    west, south, east, north = bounds
    xs, ys = world_xy(np.array([west, east]), np.array([north, south]))
    x0, x1, y0, y1 = float(xs[0]), float(xs[1]), float(ys[0]), float(ys[1])
    zoom = 0
    for z in range(0, QKEY_LEVEL + 1):
        n = 1 << z
        count = (math.floor(x1 * n) - math.floor(x0 * n) + 1) * (
            math.floor(y1 * n) - math.floor(y0 * n) + 1)
        if count > max_tiles:
            break
        zoom = z
    return merge_ranges([tile_key_range(zoom, tx, ty) for tx, ty in _tiles_over(bounds, zoom)])


def thin_minzoom(keys: NDArray[np.int64], weight: FloatArray,
                 full_zoom: int = FULL_ZOOM, cell_bits: int = CELL_BITS) -> NDArray[np.int8]:
    """The lowest zoom each point is drawn at (see the module text).

    ``keys``: Morton keys (:func:`qkeys`); ``weight``: what wins a cell (the area; ties
    go to the first point). Points that win no cell below ``full_zoom`` get
    ``full_zoom``.

    >>> keys = qkeys(np.array([-75.0, -75.0001, 10.0]), np.array([-9.0, -9.0001, 5.0]))
    >>> thin_minzoom(keys, np.array([1.0, 5.0, 2.0])).tolist()
    [13, 0, 0]
    """
    keys = np.asarray(keys, np.int64)
    weight = np.nan_to_num(np.asarray(weight, np.float64), nan=0.0)
    minzoom = np.full(len(keys), full_zoom, np.int8)
    if not len(keys):
        return minzoom
    order = np.lexsort((np.arange(len(keys)), -weight))  # largest first, then input order
    sorted_keys = keys[order]
    for z in range(full_zoom):
        level = min(QKEY_LEVEL, z + cell_bits)
        cells = sorted_keys >> np.int64(2 * (QKEY_LEVEL - level))
        _, first = np.unique(cells, return_index=True)
        winners = order[first]
        minzoom[winners] = np.minimum(minzoom[winners], z)
    return minzoom
