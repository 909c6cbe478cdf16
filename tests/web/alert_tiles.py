"""A small GFW integrated-alerts tile over a workspace's territory, for the web tests.

The tile is made here (like the monitor's own tests make theirs): blobs of alert pixels
coded the GFW way (confidence digit, then days since 2014-12-31) around the centre of
the workspace's first community, so that a monitoring run finds new clearings there.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

from vigilancia.domain.alerts import Confidence, encode_gfw

#: Pixel size of the tile (degrees; about 28 m).
PIX = 0.00025


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
    west = centre[0] - size / 2 * PIX
    north = centre[1] + size / 2 * PIX
    profile = dict(driver="GTiff", width=size, height=size, count=1, dtype="uint16",
                   crs="EPSG:4326", transform=from_origin(west, north, PIX, PIX), tiled=True,
                   blockxsize=64, blockysize=64, compress="deflate")
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(a[None])
    return path
