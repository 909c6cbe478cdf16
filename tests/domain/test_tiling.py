"""Morton keys, tile ranges, covers and thinning (Hypothesis for the invariants)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vigilancia.domain.access import FULL, Role, disclosure_for
from vigilancia.domain.tiling import (
    CELL_BITS,
    FULL_ZOOM,
    cover_ranges,
    qkeys,
    thin_minzoom,
    tile_bounds,
    tile_key_range,
    world_xy,
)

lons = st.floats(-179.9, 179.9)
lats = st.floats(-84.0, 84.0)


@given(lons, lats, st.integers(0, 20))
def test_a_point_is_in_the_key_range_of_its_tile(lon, lat, z):
    key = int(qkeys(np.array([lon]), np.array([lat]))[0])
    x, y = world_xy(np.array([lon]), np.array([lat]))
    n = 1 << z
    tx, ty = min(n - 1, int(x[0] * n)), min(n - 1, int(y[0] * n))
    lo, hi = tile_key_range(z, tx, ty)
    assert lo <= key <= hi
    west, south, east, north = tile_bounds(z, tx, ty)
    assert west - 1e-9 <= lon <= east + 1e-9 and south - 1e-6 <= lat <= north + 1e-6


@given(lons, lats, st.floats(0.0001, 2.0), st.floats(0.0001, 2.0))
def test_a_cover_holds_every_point_of_the_box(lon, lat, w, h):
    box = (lon, lat, min(179.99, lon + w), min(84.5, lat + h))
    ranges = cover_ranges(box)
    assert len(ranges) <= 16
    rng = np.random.default_rng(1)
    px = rng.uniform(box[0], box[2], 50)
    py = rng.uniform(box[1], box[3], 50)
    keys = qkeys(px, py)
    inside = np.zeros(len(keys), bool)
    for lo, hi in ranges:
        inside |= (keys >= lo) & (keys <= hi)
    assert inside.all()


@settings(max_examples=25)
@given(st.integers(1, 3000), st.integers(0, 10_000))
def test_thinning_bounds_every_tile_and_keeps_the_largest(n, seed):
    rng = np.random.default_rng(seed)
    lon = rng.normal(-75, 0.3, n)
    lat = rng.normal(-9, 0.3, n)
    area = rng.lognormal(0, 1, n)
    keys = qkeys(lon, lat)
    mz = thin_minzoom(keys, area)
    assert mz.min() == 0 and int(mz[np.argmax(area)]) == 0
    assert mz.max() <= FULL_ZOOM
    for z in (0, 4, 8, 12):
        drawn = keys[mz <= z] >> np.int64(2 * (24 - z))
        _, per_tile = np.unique(drawn, return_counts=True)
        bound = sum(4 ** (CELL_BITS + k) for k in range(-z, 1)) if z else 4 ** CELL_BITS
        assert per_tile.max() <= bound
    # monotone: a clearing drawn at z is drawn at every deeper zoom (by construction)
    assert ((mz <= 5) <= (mz <= 6)).all()


def test_roles_see_what_the_access_table_says():
    assert disclosure_for(Role.COORDINATOR) == FULL
    assert disclosure_for("monitor").people and not disclosure_for("monitor").exact_points
    assert not disclosure_for(Role.VIEWER).patrols
    assert Role.parse("Analista") is Role.ANALYST
    assert disclosure_for(Role.ANALYST).cell_deg == 0.01
