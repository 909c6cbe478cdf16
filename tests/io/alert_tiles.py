"""Alert tiles for the tests of cumulative ingest: a download (v1) and a later one (v2).

``tiles_v1_v2`` draws GFW-coded alerts on a jittered grid of cells (one clearing per
cell at most, far enough apart that growth never makes neighbours touch), then makes
the later download as a cumulative product does: v2 holds every pixel of v1, plus
new clearings in empty cells, clearings grown outwards with later dates, pixels
upgraded from low to high confidence, and bridges of new pixels that join two
clearings of v1 into one. ``v2_edits`` says which cells got which change.
``write_gfw_tile`` writes one small download around a given point (the web tests' runs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import rasterio
import shapely
from rasterio.transform import from_origin

from vigilancia.domain.alerts import Confidence, encode_gfw

PIX = 0.00025
ORIGIN = (-74.95, -9.35)
CELL = 24
#: GFW codes: confidence * 10000 + days since 2014-12-31
LOW_2023 = 2 * 10000 + 3000  # 2023-03-19
HIGH_2023 = 3 * 10000 + 3010
HIGH_2024 = 3 * 10000 + 3400  # 2024-04-23


def write_tif(path: Path, data: np.ndarray, *, origin: tuple[float, float] = ORIGIN,
              crs: str = "EPSG:4326", block: int = 64, pix: float = PIX) -> Path:
    """A tiled, DEFLATE GeoTIFF of ``data`` (one band, or bands first)."""
    h, w = data.shape[-2:]
    count = 1 if data.ndim == 2 else data.shape[0]
    prof = dict(driver="GTiff", width=w, height=h, count=count, dtype=data.dtype.name, crs=crs,
                transform=from_origin(origin[0], origin[1], pix, pix), tiled=True,
                blockxsize=block, blockysize=block, compress="deflate")
    with rasterio.open(path, "w", **prof) as ds:
        ds.write(data if data.ndim == 3 else data[None])
    return path


@dataclass
class Edits:
    """The cells (row, column of the cell grid) of v1's clearings that v2 changed."""

    grown: list[tuple[int, int]] = field(default_factory=list)
    upgraded: list[tuple[int, int]] = field(default_factory=list)
    bridged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    added: list[tuple[int, int]] = field(default_factory=list)


def _disk(a: np.ndarray, r: float, c: float, radius: float, value: int,
          only_empty: bool = False) -> None:
    h, w = a.shape
    rr, cc = np.ogrid[:h, :w]
    m = (rr - r) ** 2 + (cc - c) ** 2 <= radius**2
    if only_empty:
        m &= a == 0
    a[m] = value


def tiles_v1_v2(seed: int = 7, size: int = 384) -> tuple[np.ndarray, np.ndarray, Edits]:
    """Two downloads of one cumulative GFW tile (``size`` x ``size`` pixels)."""
    rng = np.random.default_rng(seed)
    v1 = np.zeros((size, size), np.uint16)
    cells = size // CELL
    centre: dict[tuple[int, int], tuple[float, float, float]] = {}
    for i in range(cells):
        for j in range(cells):
            if rng.random() < 0.6:
                r = i * CELL + CELL / 2 + rng.uniform(-2, 2)
                c = j * CELL + CELL / 2 + rng.uniform(-2, 2)
                radius = rng.uniform(1.2, 4.5)
                _disk(v1, r, c, radius, int(rng.choice([LOW_2023, HIGH_2023])))
                centre[(i, j)] = (r, c, radius)
    v2 = v1.copy()
    edits = Edits()
    keys = sorted(centre)
    order = rng.permutation(len(keys))
    used: set[tuple[int, int]] = set()
    # bridges: two neighbouring clearings of a row joined by a line of new pixels
    for k in order:
        if len(edits.bridged) >= 4:
            break
        a = keys[k]
        b = (a[0], a[1] + 1)
        if b not in centre or a in used or b in used:
            continue
        r, rb = int(round(centre[a][0])), int(round(centre[b][0]))
        c0, c1 = int(round(centre[a][1])), int(round(centre[b][1]))
        for seg in (v2[r, c0 : c1 + 1], v2[min(r, rb) : max(r, rb) + 1, c1]):
            seg[seg == 0] = HIGH_2024  # (an L: along a's row, then down b's column)
        edits.bridged.append((a, b))
        used |= {a, b}
    for k in order:
        key = keys[k]
        if key in used:
            continue
        r, c, radius = centre[key]
        u = rng.random()
        if u < 0.3:  # grown outwards, later
            _disk(v2, r, c, radius + 2.0, HIGH_2024, only_empty=True)
            edits.grown.append(key)
        elif u < 0.5:  # its low pixels confirmed
            patch = v2[int(r) - 6 : int(r) + 7, int(c) - 6 : int(c) + 7]
            if (patch == LOW_2023).any():
                patch[patch == LOW_2023] = HIGH_2023 - 10
                edits.upgraded.append(key)
        used.add(key)
    for i in range(cells):
        for j in range(cells):
            if (i, j) not in centre and rng.random() < 0.5:
                r = i * CELL + CELL / 2
                c = j * CELL + CELL / 2
                _disk(v2, r, c, rng.uniform(1.2, 4.0), HIGH_2024)
                edits.added.append((i, j))
    return v1, v2, edits


def territories_for(size: int = 384) -> list[tuple[str, object]]:
    """Two community polygons over the tile (name, lon/lat polygon)."""
    x0, y0 = ORIGIN
    span = size * PIX
    return [
        ("CN Alfa", shapely.box(x0, y0 - span, x0 + span * 0.5, y0)),
        ("CN Beta", shapely.box(x0 + span * 0.5, y0 - span * 0.6, x0 + span, y0)),
    ]


def write_gfw_tile(path: Path, centre: tuple[float, float], *, size: int = 160, seed: int = 7,
                   day: date = date(2025, 6, 1)) -> Path:
    """A ``size`` x ``size`` GFW tile centred on ``centre`` (lon, lat) with a dozen
    clearings of high confidence dated around ``day``."""
    rng = np.random.default_rng(seed)
    a = np.zeros((size, size), np.uint16)
    rr, cc = np.ogrid[:size, :size]
    for i in range(12):
        r, c = rng.integers(10, size - 10, 2)
        blob = (rr - r) ** 2 + (cc - c) ** 2 < rng.uniform(2, 6) ** 2
        a[blob] = encode_gfw(Confidence.HIGH, date.fromordinal(day.toordinal() + i))
    origin = (centre[0] - size / 2 * PIX, centre[1] + size / 2 * PIX)
    return write_tif(path, a, origin=origin)
