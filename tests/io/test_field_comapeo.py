"""CoMapeo and Mapeo GeoJSON exports, with their media, as ZIP or folder."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import UTC, datetime

import pytest
from field_samples import (
    comapeo_feature_current,
    comapeo_feature_earlier,
    comapeo_observation,
    comapeo_track,
    write_comapeo_export,
    write_jpeg,
)

from vigilancia.domain.field import FileRole, ObservationKind, Verdict
from vigilancia.errors import DataFormatError
from vigilancia.io.field import detect, read, read_field_file

MEDIA = "CoMapeo_Vigilancia Kakataibo_Media_2024_05_02"


@pytest.fixture
def photo(tmp_path):
    return write_jpeg(tmp_path / "src.jpg").read_bytes()


def observations():
    coca = comapeo_observation(
        "a1b2", -74.96, -9.38,
        tags={"notes": "Chacra de coca nueva", "type": "clearing", "verdict": "coca_confirmed"},
        attachments=["f1a1c3"],
    )
    camp = comapeo_observation("c3d4", -74.95, -9.37, tags={"notes": "", "type": "camp"},
                               created="2024-05-01T16:00:00.000Z", altitude=None)
    return coca, camp


def test_current_export_zip(tmp_path, photo):
    coca, camp = observations()
    features = [comapeo_feature_current(coca, ["f1a1c3_original.jpg"]),
                comapeo_feature_current(camp, [])]
    path = write_comapeo_export(tmp_path / "CoMapeo_export.zip", features,
                                {"f1a1c3_original.jpg": photo, "unused_original.jpg": b"x"})
    assert detect(path).name == "comapeo"
    result = read(path)
    assert result.warnings == ()
    a, b = result.observations
    assert (a.record_id, a.kind) == ("a1b2", ObservationKind.POINT)
    assert (a.geometry.x, a.geometry.y) == (-74.96, -9.38)
    assert a.time == datetime(2024, 5, 1, 15, 4, 5, 123000, tzinfo=UTC)
    assert a.altitude_m == 212.5 and a.accuracy_m == 4.5
    assert a.verdict is Verdict.COCA_CONFIRMED and a.notes == "Chacra de coca nueva"
    assert a.attributes["type"] == "clearing" and a.attributes["category_id"] == "preset-clearing"
    assert a.attachments == (f"{MEDIA}/f1a1c3_original.jpg",)
    assert b.attributes["type"] == "camp" and b.verdict is None and b.altitude_m is None
    roles = {f.name: f.role for f in result.files}
    assert roles["CoMapeo_export.zip"] is FileRole.ORIGINAL
    assert roles[f"{MEDIA}/f1a1c3_original.jpg"] is FileRole.ATTACHMENT
    assert f"{MEDIA}/unused_original.jpg" not in roles
    att = result.file(a.attachments[0])
    assert att is not None and read_field_file(att) == photo
    assert att.sha256 == hashlib.sha256(photo).hexdigest()
    original = result.file("CoMapeo_export.zip")
    assert original is not None and original.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_earlier_export_folder_with_track_and_repeated_observation(tmp_path, photo):
    coca, camp = observations()
    track = comapeo_track("t9", [(-74.96, -9.38, "2024-05-01T14:00:00.000Z"),
                                 (-74.955, -9.375, "2024-05-01T14:20:00.000Z"),
                                 (-74.95, -9.37, "2024-05-01T14:40:00.000Z")], ["a1b2"])
    # a track export repeats the observations it links
    features = [comapeo_feature_earlier(track), comapeo_feature_earlier(coca),
                comapeo_feature_earlier(coca), comapeo_feature_earlier(camp)]
    folder = write_comapeo_export(tmp_path / "export", features,
                                  {"f1a1c3_preview.jpg": b"small", "f1a1c3_original.jpg": photo},
                                  as_zip=False)
    assert detect(folder).name == "comapeo"
    result = read(folder)
    assert [o.record_id for o in result.observations] == ["t9", "a1b2", "c3d4"]
    trk = result.observations[0]
    assert trk.kind is ObservationKind.TRACK and len(trk.geometry.coords) == 3
    assert (trk.time, trk.end_time) == (datetime(2024, 5, 1, 14, tzinfo=UTC),
                                        datetime(2024, 5, 1, 14, 40, tzinfo=UTC))
    assert trk.attributes["observation_ids"] == ("a1b2",)
    # the original variant is preferred over the preview
    assert result.observations[1].attachments == (f"{MEDIA}/f1a1c3_original.jpg",)
    att = result.file(f"{MEDIA}/f1a1c3_original.jpg")
    assert att is not None and att.member is None
    assert att.sha256 == hashlib.sha256(photo).hexdigest()


def test_legacy_mapeo_geojson_and_missing_media(tmp_path):
    payload = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "id": "5f1e",
        "geometry": {"type": "Point", "coordinates": [-74.9, -9.3]},
        "properties": {"$created": "2020-02-03T10:00:00.000Z", "categoryId": "mining",
                       "notes": "Balsa minera", "$photos": ["ab12.jpg"]},
    }]}
    path = tmp_path / "mapeo.geojson"
    path.write_text(json.dumps(payload))
    result = read(path)
    (obs,) = result.observations
    assert obs.record_id == "5f1e" and obs.notes == "Balsa minera"
    assert obs.attributes["category_id"] == "mining"
    assert obs.attachments == ("ab12.jpg",)
    assert any("ab12.jpg" in w for w in result.warnings)


def test_broken_json_is_named(tmp_path, english):
    path = tmp_path / "CoMapeo_roto.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feat')
    with pytest.raises(DataFormatError) as info:
        read(path)
    assert "CoMapeo_roto.geojson" in info.value.user_text() and "line 1" in info.value.message


def test_unknown_verdict_tag_is_a_warning(tmp_path, english):
    obs = comapeo_observation("z1", -74.9, -9.3, tags={"verdict": "quizás coca"})
    path = write_comapeo_export(tmp_path / "e.zip", [comapeo_feature_current(obs, [])], {})
    result = read(path)
    assert result.observations[0].verdict is None
    assert any("not a verdict" in w for w in result.warnings)


def test_zip_traversal_in_comapeo_export_is_refused(tmp_path):
    coca, _ = observations()
    path = write_comapeo_export(tmp_path / "e.zip", [comapeo_feature_current(coca, [])], {})
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("../../escape.jpg", b"x")
    with pytest.raises(DataFormatError) as info:
        read(path)
    assert "e.zip" in info.value.user_text() and "../../escape.jpg" in info.value.user_text()
