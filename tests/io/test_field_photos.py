"""Phone and drone photos: EXIF GPS, time and camera, DJI XMP, nadir footprint, broken JPEGs."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from field_samples import dji_xmp, truncate, write_dji_photo, write_jpeg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod

from vigilancia.domain.field import FileRole, ObservationKind
from vigilancia.errors import DataFormatError, UnreadableFileError
from vigilancia.io.field import ImportOptions, detect, read
from vigilancia.io.field.photos import read_xmp_dji, sensor_size_mm

GEOD = Geod(ellps="WGS84")


def metres(a, b):
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(-9.38, -74.96), (-12.0464, -77.0428), (45.55034, -73.59300), (-33.8688, 151.2093),
     (35.6895, 139.6917), (0.0001, -0.0001)],
)
def test_exif_position_within_a_metre(tmp_path, lat, lon):
    path = write_jpeg(tmp_path / "foto.jpg", lat=lat, lon=lon, altitude=-12.5 if lat > 40 else 250)
    result = read(path)
    obs = result.observations[0]
    assert result.format == "photo" and obs.kind is ObservationKind.PHOTO
    assert metres((obs.geometry.x, obs.geometry.y), (lon, lat)) < 1.0
    assert obs.altitude_m == pytest.approx(-12.5 if lat > 40 else 250)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lat=st.floats(-89.9, 89.9), lon=st.floats(-179.9, 179.9))
def test_exif_position_any_hemisphere(tmp_path, lat, lon):
    path = write_jpeg(tmp_path / "h.jpg", lat=lat, lon=lon)
    obs = read(path).observations[0]
    assert metres((obs.geometry.x, obs.geometry.y), (lon, lat)) < 1.0


def test_time_camera_and_hash(tmp_path):
    path = write_jpeg(tmp_path / "IMG_0001.jpg", taken=datetime(2024, 5, 1, 10, 0, 0),
                      offset="-05:00", make="samsung", model="SM-A145M", focal_mm=4.0)
    result = read(path)
    obs = result.observations[0]
    assert obs.time == datetime(2024, 5, 1, 15, 0, tzinfo=UTC)
    assert obs.attributes["camera_make"] == "samsung"
    assert obs.attributes["camera_model"] == "SM-A145M"
    assert obs.attributes["focal_length_mm"] == pytest.approx(4.0)
    assert obs.record_id == "IMG_0001.jpg" and obs.attachments == ("IMG_0001.jpg",)
    (f,) = result.files
    data = path.read_bytes()
    assert f.role is FileRole.ORIGINAL and f.member is None
    assert f.sha256 == hashlib.sha256(data).hexdigest() and f.size == len(data)
    assert path.read_bytes() == data  # the original is untouched


def test_time_without_zone_needs_an_offset(tmp_path):
    path = write_jpeg(tmp_path / "a.jpg", offset=None)
    result = read(path)
    assert result.observations[0].time is None
    assert result.observations[0].attributes["local_time"] == "2024-05-01T10:00:00"
    peru = read(path, options=ImportOptions(assume_utc_offset=timedelta(hours=-5)))
    assert peru.observations[0].time == datetime(2024, 5, 1, 15, 0, tzinfo=UTC)


def test_photo_without_gps_imports_with_a_warning(tmp_path):
    result = read(write_jpeg(tmp_path / "sin_gps.jpg", lat=None, lon=None))
    assert result.observations[0].geometry is None
    assert any("sin_gps.jpg" in w for w in result.warnings)


def test_dji_xmp_attributes_and_elements():
    for packet in (dji_xmp(yaw=12.5), dji_xmp(yaw=12.5, as_elements=True)):
        values = read_xmp_dji(packet, "x.jpg")
        assert float(values["RelativeAltitude"]) == 100.0
        assert float(values["GimbalPitchDegree"]) == -90.0
        assert float(values["GimbalYawDegree"]) == 12.5
        assert float(values["FlightYawDegree"]) == 12.5


def test_drone_footprint_at_100_m_matches_the_pinhole_model(tmp_path):
    path = write_dji_photo(tmp_path / "DJI_0042.JPG", relative_altitude=100.0, yaw=30.0,
                           model="FC6310", focal_mm=8.8)
    assert detect(path).name == "photo"
    obs = read(path).observations[0]
    a = obs.attributes
    assert a["relative_altitude_m"] == 100.0 and a["gimbal_pitch_deg"] == -90.0
    assert a["gimbal_yaw_deg"] == 30.0 and a["sensor_size_source"] == "camera_table"
    # pinhole: 13.2 mm x 100 m / 8.8 mm = 150 m across, 8.8 mm x 100 / 8.8 = 100 m along
    assert (a["footprint_width_m"], a["footprint_height_m"]) == (150.0, 100.0)
    corners = list(obs.footprint.exterior.coords)[:4]
    assert metres(corners[0], corners[1]) == pytest.approx(150.0, abs=0.1)
    assert metres(corners[1], corners[2]) == pytest.approx(100.0, abs=0.1)
    assert GEOD.inv(*corners[3], *corners[0])[0] % 360 == pytest.approx(30.0, abs=0.1)
    c = obs.footprint.centroid
    assert metres((c.x, c.y), (obs.geometry.x, obs.geometry.y)) < 0.1
    assert obs.time == datetime(2024, 5, 1, 15, 0, tzinfo=UTC)  # GPS time stamp, UTC


def test_sensor_from_35mm_equivalent_when_model_unknown(tmp_path):
    path = write_dji_photo(tmp_path / "x.jpg", model="FC9999", focal_mm=8.8, size=(120, 80))
    a = read(path).observations[0].attributes
    assert a["sensor_size_source"] == "focal_length_35mm"
    # 24 mm equivalent on an 8.8 mm lens: crop 2.73, a 3:2 sensor of 13.2 x 8.8 mm
    assert a["sensor_width_mm"] == pytest.approx(13.2, abs=0.01)
    assert sensor_size_mm(None, {}, 100, 100, None) is None


def test_oblique_drone_photo_has_no_footprint(tmp_path):
    obs = read(write_dji_photo(tmp_path / "oblique.jpg", pitch=-45.0)).observations[0]
    assert obs.footprint is None and obs.attributes["gimbal_pitch_deg"] == -45.0


def test_truncated_jpeg_is_named(tmp_path):
    path = truncate(write_jpeg(tmp_path / "cortada.jpg", size=(320, 240)))
    with pytest.raises(UnreadableFileError) as info:
        read(path)
    assert info.value.source == str(path)
    assert "cortada.jpg" in info.value.user_text()
    assert "truncada" in info.value.user_text()  # Spanish by default


def test_xmp_entity_bomb_is_refused(tmp_path):
    from field_samples import billion_laughs

    path = write_jpeg(tmp_path / "bomba.jpg", xmp=billion_laughs("x").encode())
    with pytest.raises(DataFormatError) as info:
        read(path)
    assert "bomba.jpg" in info.value.user_text()
