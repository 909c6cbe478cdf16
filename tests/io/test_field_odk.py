"""ODK Central and KoboToolbox exports: geopoints, ids, times, verdicts, media, delimiters."""

from __future__ import annotations

import hashlib
import zipfile
from datetime import UTC, datetime

import pytest
from field_samples import central_rows, csv_text, write_central_zip, write_jpeg, write_kobo_csv

from vigilancia.domain.field import FileRole, ObservationKind, Verdict
from vigilancia.errors import DataFormatError
from vigilancia.io.field import detect, read
from vigilancia.io.field.odk import sniff_delimiter

VISITS = [
    {"key": "uuid:0a1b", "lat": -9.38, "lon": -74.96, "verdict": "coca_confirmed",
     "photos": ["1714560000001.jpg", "1714560000002.jpg"], "case_id": "C-0012",
     "notes": "Plantón de coca de 2 ha", "care": "yes"},
    {"key": "uuid:2c3d", "lat": None, "lon": None, "reached": "no", "verdict": "not_reached",
     "case_id": "C-0013", "notes": "Río crecido"},
]


def test_central_zip_with_media(tmp_path):
    photos = {n: write_jpeg(tmp_path / n).read_bytes() for n in VISITS[0]["photos"]}
    path = write_central_zip(tmp_path / "vigilancia_visita_verificacion.zip", VISITS, photos)
    assert detect(path).name == "odk"
    result = read(path)
    assert result.warnings == ()
    a, b = result.observations
    assert (a.record_id, a.kind) == ("uuid:0a1b", ObservationKind.FORM)
    assert (a.geometry.x, a.geometry.y) == (-74.96, -9.38)
    assert a.altitude_m == 212.3 and a.accuracy_m == 4.8
    assert a.time == datetime(2024, 5, 1, 15, 0, tzinfo=UTC)  # arrival_time, -05:00
    assert a.end_time == datetime(2024, 5, 1, 15, 20, tzinfo=UTC)
    assert a.verdict is Verdict.COCA_CONFIRMED and a.notes == "Plantón de coca de 2 ha"
    assert a.attributes["case_id"] == "C-0012"
    assert a.attributes["reached"] is True and a.attributes["approach_with_care"] is True
    assert a.attachments == ("media/1714560000001.jpg", "media/1714560000002.jpg")
    assert b.geometry is None and b.verdict is Verdict.NOT_REACHED
    assert b.attributes["reached"] is False
    by_name = {f.name: f for f in result.files}
    assert by_name["vigilancia_visita_verificacion.zip"].role is FileRole.ORIGINAL
    assert by_name["vigilancia_visita_verificacion.csv"].role is FileRole.DATA
    for name, data in photos.items():
        f = by_name[f"media/{name}"]
        assert f.role is FileRole.ATTACHMENT and f.size == len(data)
        assert f.sha256 == hashlib.sha256(data).hexdigest()


def test_unzipped_central_folder_and_missing_media(tmp_path):
    folder = tmp_path / "descarga"
    (folder / "media").mkdir(parents=True)
    header, rows = central_rows(VISITS)
    (folder / "vigilancia_visita_verificacion.csv").write_text(csv_text(header, rows))
    (folder / "media" / "1714560000001.jpg").write_bytes(b"\xff\xd8\xff fake")
    result = read(folder)
    assert result.observations[0].attachments[1] == "1714560000002.jpg"
    assert any("1714560000002.jpg" in w for w in result.warnings)


def test_repeat_group_tables_are_not_the_main_table(tmp_path):
    path = write_central_zip(tmp_path / "f.zip", VISITS[:1], {})
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("vigilancia_visita_verificacion-fotos.csv",
                    "foto,PARENT_KEY,KEY\nx.jpg,uuid:0a1b,uuid:0a1b/fotos[1]\n")
    assert [o.record_id for o in read(path).observations] == ["uuid:0a1b"]


def test_kobo_semicolon_csv_with_labels(tmp_path):
    path = write_kobo_csv(tmp_path / "kobo.csv", [
        {"uuid": "5e6f", "lat": -9.381234, "lon": -74.961234, "verdict": "Minería"},
        {"uuid": "7a8b", "lat": -9.39, "lon": -74.97, "verdict": "False alarm"},
    ])
    assert detect(path).name == "odk"
    a, b = read(path).observations
    assert a.record_id == "5e6f" and (a.geometry.x, a.geometry.y) == (-74.961234, -9.381234)
    assert a.altitude_m == 200.0 and a.accuracy_m == 5.0
    assert a.time == datetime(2024, 5, 1, 15, 0, tzinfo=UTC)  # start
    assert a.verdict is Verdict.MINING and b.verdict is Verdict.FALSE_ALARM


def test_combined_geopoint_column_and_decimal_commas(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text("_uuid;ubicacion;_submission_time\nu1;-9,38 -74,96 200 5;2024-05-02T01:00:00\n")
    (obs,) = read(path).observations
    assert (obs.geometry.x, obs.geometry.y) == (-74.96, -9.38)
    assert obs.time == datetime(2024, 5, 2, 1, 0, tzinfo=UTC)  # _submission_time is UTC


def test_wrong_delimiter_is_named(tmp_path, english):
    header, rows = central_rows(VISITS)
    path = tmp_path / "tuberias.csv"
    path.write_text(csv_text(header, rows, delimiter="|"))
    with pytest.raises(DataFormatError) as info:
        read(path)
    text = info.value.user_text()
    assert "tuberias.csv" in text and "single column" in text and "CSV" in text


def test_rows_with_another_delimiter_are_named(tmp_path, english):
    header, rows = central_rows(VISITS)
    path = tmp_path / "mezcla.csv"
    path.write_text(csv_text(header, rows[:1]) + csv_text(header, rows[1:], ";").split("\n", 1)[1])
    with pytest.raises(DataFormatError) as info:
        read(path)
    assert "mezcla.csv" in info.value.user_text() and "row 3" in info.value.message


def test_table_without_location_is_named(tmp_path, english):
    path = tmp_path / "sin_gps.csv"
    path.write_text("KEY,SubmissionDate,notes\nuuid:1,2024-05-01T00:00:00Z,hola\n")
    with pytest.raises(DataFormatError, match="no location column"):
        read(path)


def test_unknown_verdict_names_the_row(tmp_path, english):
    visits = [dict(VISITS[0], photos=[]), dict(VISITS[0], key="uuid:9", verdict="ovnis")]
    path = write_central_zip(tmp_path / "v.zip", visits, {})
    with pytest.raises(DataFormatError) as info:
        read(path)
    assert "row 3" in info.value.user_text() and "coca_confirmed" in info.value.hint


def test_sniff_delimiter():
    assert sniff_delimiter("a,b,c") == (",", 3)
    assert sniff_delimiter("a;b;c,d") == (";", 3)
    assert sniff_delimiter('"a;b",c') == (",", 2)
    assert sniff_delimiter("a\tb") == ("\t", 2)
    assert sniff_delimiter("a|b|c") == (",", 1)
