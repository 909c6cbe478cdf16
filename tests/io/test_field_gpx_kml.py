"""GPX (gpxpy) and KML/KMZ placemarks; empty GPX, KMZ path traversal and entity bombs."""

from __future__ import annotations

import hashlib
import zipfile
from datetime import UTC, datetime

import gpxpy
import pytest
from field_samples import billion_laughs, write_gpx, write_jpeg, write_kml, write_kmz

from vigilancia.domain.field import FileRole, ObservationKind, Verdict
from vigilancia.errors import DataFormatError
from vigilancia.io.field import detect, read

T0 = datetime(2024, 5, 1, 14, 0, tzinfo=UTC)


def test_gpx_round_trip(tmp_path):
    track = [(-74.96 + i * 0.001, -9.38 - i * 0.001, T0.replace(minute=i)) for i in range(5)]
    path = write_gpx(tmp_path / "patrulla.gpx", waypoints=[(-74.96, -9.38, "Claro 7")],
                     track=track)
    assert detect(path).name == "gpx"
    result = read(path)
    wpt, trk = result.observations
    assert wpt.kind is ObservationKind.WAYPOINT and wpt.attributes["name"] == "Claro 7"
    assert (wpt.geometry.x, wpt.geometry.y) == (-74.96, -9.38)
    assert wpt.altitude_m == 210.0 and wpt.time == datetime(2024, 5, 1, 15, tzinfo=UTC)
    assert trk.kind is ObservationKind.TRACK and trk.geometry.geom_type == "LineString"
    assert list(trk.geometry.coords) == [(lon, lat) for lon, lat, _ in track]
    assert (trk.time, trk.end_time) == (T0, T0.replace(minute=4))
    assert trk.attributes["point_count"] == 5
    (f,) = result.files
    assert f.role is FileRole.ORIGINAL
    assert f.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    # what we read is what gpxpy, the reference reader, reads
    ref = gpxpy.parse(path.read_text())
    assert len(ref.tracks[0].segments[0].points) == trk.attributes["point_count"]


def test_gpx_without_points_is_named(tmp_path):
    path = write_gpx(tmp_path / "vacio.gpx", waypoints=[])
    with pytest.raises(DataFormatError) as info:
        read(path)
    assert info.value.source == str(path)
    assert "vacio.gpx" in info.value.user_text() and "GPX" in info.value.user_text()


def test_gpx_entity_bomb_is_refused(tmp_path):
    path = tmp_path / "bomba.gpx"
    path.write_text(billion_laughs("gpx"))
    with pytest.raises(DataFormatError) as info:
        read(path)
    assert "bomba.gpx" in info.value.user_text() and "XML" in info.value.user_text()


def test_kml_placemarks(tmp_path):
    path = write_kml(tmp_path / "puntos.kml")
    assert detect(path).name == "kml"
    result = read(path)
    kinds = [o.kind for o in result.observations]
    assert kinds == [ObservationKind.WAYPOINT, ObservationKind.TRACK, ObservationKind.AREA,
                     ObservationKind.TRACK]
    pista, trocha, chacra, recorrido = result.observations
    assert pista.record_id == "p1" and pista.altitude_m == 210.0
    assert pista.time == datetime(2024, 5, 1, 15, tzinfo=UTC)
    assert pista.verdict is Verdict.AIRSTRIP_CONFIRMED
    assert trocha.geometry.geom_type == "LineString" and len(trocha.geometry.coords) == 3
    assert chacra.geometry.geom_type == "Polygon" and chacra.geometry.is_valid
    assert (recorrido.time, recorrido.end_time) == (T0, T0.replace(minute=10))
    assert [f.role for f in result.files] == [FileRole.ORIGINAL]


def test_kmz_with_attachment(tmp_path):
    photo = write_jpeg(tmp_path / "pista.jpg").read_bytes()
    path = write_kmz(tmp_path / "patrulla.kmz", extra={"files/pista.jpg": photo})
    assert detect(path).name == "kml"
    result = read(path)
    assert result.observations[0].attachments == ("files/pista.jpg",)
    roles = {f.name: f.role for f in result.files}
    assert roles == {"patrulla.kmz": FileRole.ORIGINAL, "doc.kml": FileRole.DATA,
                     "files/pista.jpg": FileRole.ATTACHMENT}
    att = result.file("files/pista.jpg")
    assert att is not None and att.member == "files/pista.jpg"
    assert att.sha256 == hashlib.sha256(photo).hexdigest() and att.size == len(photo)


@pytest.mark.parametrize("evil", ["../evil.kml", "files/../../evil.kml", "/etc/evil.kml",
                                  "C:\\Windows\\evil.kml", "..\\evil.kml"])
def test_kmz_path_traversal_is_refused(tmp_path, evil):
    work = tmp_path / "work"
    work.mkdir()
    path = write_kmz(work / "trampa.kmz", extra={evil: b"<kml/>"})
    assert evil in zipfile.ZipFile(path).namelist()
    with pytest.raises(DataFormatError) as info:
        read(path)
    assert "trampa.kmz" in info.value.user_text()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["trampa.kmz", "work"]


def test_kml_entity_bomb_is_refused(tmp_path):
    path = tmp_path / "bomba.kml"
    path.write_text(billion_laughs("kml"))
    with pytest.raises(DataFormatError) as info:
        read(path)
    assert "bomba.kml" in info.value.user_text()
    assert "entidades" in info.value.user_text()  # Spanish by default


def test_kml_without_placemarks_and_bad_coordinates(tmp_path, english):
    empty = write_kml(tmp_path / "vacio.kml", placemarks="")
    with pytest.raises(DataFormatError, match="no placemarks"):
        read(empty)
    bad = write_kml(tmp_path / "malo.kml", placemarks=(
        "<Placemark><name>X</name><Point><coordinates>-74.9,-95.0</coordinates></Point>"
        "</Placemark>"))
    with pytest.raises(DataFormatError) as info:
        read(bad)
    assert "placemark 1 (X)" in info.value.user_text() and "out of range" in info.value.message
