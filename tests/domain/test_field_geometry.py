"""Pure field geometry: degrees-minutes-seconds and the nadir footprint of a drone photo."""

from __future__ import annotations

import math
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import Point

from vigilancia.domain.field import (
    FieldObservation,
    ObservationKind,
    decimal_to_dms,
    dms_to_decimal,
    footprint_size_m,
    is_nadir,
    nadir_footprint,
    offset_lonlat,
)

GEOD = Geod(ellps="WGS84")


@given(st.floats(-90, 90, allow_nan=False), st.sampled_from(["lat", "lon"]))
def test_dms_round_trip(value, axis):
    if axis == "lon":
        value *= 2
    d, m, s, ref = decimal_to_dms(value, axis=axis)
    assert 0 <= m < 60 and 0 <= s < 60 + 1e-6
    assert ref in (("N", "S") if axis == "lat" else ("E", "W"))
    assert dms_to_decimal(d, m, s, ref) == pytest.approx(value, abs=1e-9)


def test_dms_hemispheres_and_sign_in_degrees():
    assert dms_to_decimal(9, 22, 48, "S") == pytest.approx(-9.38)
    assert dms_to_decimal(74, 57, 36, "W") == pytest.approx(-74.96)
    assert dms_to_decimal(45, 30, 0, "N") == 45.5
    assert dms_to_decimal(-3, 30, 0, "") == -3.5


@given(
    st.floats(-60, 60),
    st.floats(-179, 179),
    st.floats(-500, 500),
    st.floats(-500, 500),
)
def test_offset_lonlat_is_metric(lat, lon, east, north):
    lon2, lat2 = offset_lonlat(lon, lat, east, north)
    _az, _baz, dist = GEOD.inv(lon, lat, lon2, lat2)
    assert dist == pytest.approx(math.hypot(east, north), rel=1e-4, abs=1e-3)


@pytest.mark.parametrize("yaw", [0.0, 30.0, 90.0, -135.0])
def test_footprint_matches_the_pinhole_model(yaw):
    # Phantom 4 Pro: 1" sensor 13.2 x 8.8 mm, 8.8 mm lens, at 100 m: 150 m x 100 m.
    width, height = footprint_size_m(100, 8.8, 13.2, 8.8)
    assert (width, height) == pytest.approx((150.0, 100.0))
    fp = nadir_footprint(-74.96, -9.38, altitude_m=100, focal_mm=8.8, sensor_w_mm=13.2,
                         sensor_h_mm=8.8, yaw_deg=yaw)
    (tl, tr, br, bl) = list(fp.exterior.coords)[:4]

    def dist(a, b):
        return GEOD.inv(a[0], a[1], b[0], b[1])[2]

    def azimuth(a, b):
        return GEOD.inv(a[0], a[1], b[0], b[1])[0] % 360

    assert dist(tl, tr) == pytest.approx(150.0, abs=0.05)
    assert dist(tr, br) == pytest.approx(100.0, abs=0.05)
    assert abs(GEOD.geometry_area_perimeter(fp)[0]) == pytest.approx(15000.0, rel=1e-3)
    # the top edge of the image faces the yaw; the camera is over the centre
    assert azimuth(bl, tl) == pytest.approx(yaw % 360, abs=0.05)
    c = fp.centroid
    assert dist((c.x, c.y), (-74.96, -9.38)) < 0.05


def test_is_nadir():
    assert is_nadir(-90.0) and is_nadir(-86.0) and is_nadir(-94.5)
    assert not is_nadir(-45.0) and not is_nadir(None) and not is_nadir(0.0)


def test_observation_is_frozen_and_needs_utc_times():
    obs = FieldObservation("gpx", "a.gpx", "wpt-1", ObservationKind.WAYPOINT, Point(0, 0),
                           attributes={"name": "x"})
    with pytest.raises(TypeError):
        obs.attributes["name"] = "y"  # type: ignore[index]
    with pytest.raises(ValueError):
        FieldObservation("gpx", "a.gpx", "1", ObservationKind.WAYPOINT, Point(0, 0),
                         time=datetime(2024, 1, 1))
