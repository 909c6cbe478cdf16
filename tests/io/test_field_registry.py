"""The importer registry: detection, plugins, and read_many reporting broken files by name."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from field_samples import (
    billion_laughs,
    central_rows,
    comapeo_feature_current,
    comapeo_observation,
    csv_text,
    truncate,
    write_central_zip,
    write_comapeo_export,
    write_dji_photo,
    write_gpx,
    write_jpeg,
    write_kml,
    write_kmz,
    write_kobo_csv,
)

from vigilancia.domain.field import FieldImport, FieldObservation, FileRole, ObservationKind
from vigilancia.errors import UnreadableFileError
from vigilancia.io.field import (
    ImportOptions,
    Probe,
    detect,
    importers,
    read,
    read_many,
    register_importer,
)
from vigilancia.io.field import registry as registry_module
from vigilancia.io.field.common import file_digest


def good_files(d: Path) -> dict[str, Path]:
    photo = write_jpeg(d / "src.jpg").read_bytes()
    obs = comapeo_observation("a1", -74.96, -9.38, attachments=["p1"])
    return {
        "gpx": write_gpx(d / "ruta.gpx",
                         track=[(-74.96, -9.38, datetime(2024, 5, 1, tzinfo=UTC)),
                                (-74.95, -9.37, datetime(2024, 5, 1, 1, tzinfo=UTC))]),
        "kml": write_kml(d / "puntos.kml"),
        "kmz": write_kmz(d / "puntos.kmz"),
        "comapeo": write_comapeo_export(d / "CoMapeo_export.zip",
                                        [comapeo_feature_current(obs, ["p1_original.jpg"])],
                                        {"p1_original.jpg": photo}),
        "odk": write_central_zip(d / "central.zip",
                                 [{"key": "uuid:1", "lat": -9.38, "lon": -74.96,
                                   "verdict": "logging"}], {}),
        "kobo": write_kobo_csv(d / "kobo.csv", [{"uuid": "k1", "lat": -9.3, "lon": -74.9}]),
        "photo": write_jpeg(d / "IMG_1.jpg"),
        "drone": write_dji_photo(d / "DJI_0001.JPG"),
    }


EXPECTED = {"gpx": "gpx", "kml": "kml", "kmz": "kml", "comapeo": "comapeo", "odk": "odk",
            "kobo": "odk", "photo": "photo", "drone": "photo"}


def test_builtins_are_registered():
    assert set(importers()) >= {"comapeo", "odk", "gpx", "kml", "photo"}


def test_detect_picks_the_right_importer(tmp_path):
    for key, path in good_files(tmp_path).items():
        assert detect(path).name == EXPECTED[key], key


def test_detect_by_content_without_extension(tmp_path):
    files = good_files(tmp_path)
    for key in ("gpx", "kml", "photo", "comapeo"):
        renamed = files[key].with_suffix(".dat")
        renamed.write_bytes(files[key].read_bytes())
        assert detect(renamed).name == EXPECTED[key], key


def test_unknown_missing_and_empty_files_are_named(tmp_path):
    (tmp_path / "notas.txt").write_text("hola")
    (tmp_path / "vacio.gpx").write_bytes(b"")
    for name in ("notas.txt", "vacio.gpx", "no_existe.gpx"):
        with pytest.raises(UnreadableFileError) as info:
            detect(tmp_path / name)
        assert name in info.value.user_text()


def test_every_consumed_file_hash_is_the_hash_of_its_bytes(tmp_path):
    results, failures = read_many(good_files(tmp_path).values())
    assert failures == []
    assert [r.format for r in results] == ["gpx", "kml", "kml", "comapeo", "odk", "odk",
                                           "photo", "photo"]
    for r in results:
        assert r.files, r.source
        for f in r.files:
            if f.member is None:
                assert (f.sha256, f.size) == file_digest(Path(f.path))
            else:
                import zipfile

                data = zipfile.ZipFile(f.path).read(f.member)
                assert f.sha256 == hashlib.sha256(data).hexdigest() and f.size == len(data)


def test_five_bad_inputs_are_named_and_the_rest_import(tmp_path):
    good = good_files(tmp_path)
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    bad = {
        "truncated": truncate(write_jpeg(bad_dir / "cortada.jpg", size=(320, 240))),
        "empty_gpx": write_gpx(bad_dir / "sin_puntos.gpx", waypoints=[]),
        "traversal": write_kmz(bad_dir / "trampa.kmz", extra={"../evil.kml": b"<kml/>"}),
        "bomb": bad_dir / "bomba.kml",
        "delimiter": bad_dir / "separador.csv",
    }
    bad["bomb"].write_text(billion_laughs("kml"))
    header, rows = central_rows([{"key": "uuid:1", "lat": -9.38, "lon": -74.96}])
    bad["delimiter"].write_text(csv_text(header, rows, delimiter="|"))
    order = [good["gpx"], bad["truncated"], good["comapeo"], bad["empty_gpx"], good["odk"],
             bad["traversal"], good["photo"], bad["bomb"], good["kobo"], bad["delimiter"],
             good["drone"], good["kmz"]]
    results, failures = read_many(order)
    assert [r.source for r in results] == [str(p) for p in order if p.parent == tmp_path]
    assert [f.source for f in failures] == [str(p) for p in order if p.parent == bad_dir]
    for failure in failures:
        text = failure.error.user_text()
        assert Path(failure.source).name in text, text
        assert failure.error.hint, text  # says how to fix it
    assert not (tmp_path / "evil.kml").exists()


def test_folder_of_photos_is_read_file_by_file(tmp_path):
    folder = tmp_path / "DCIM"
    folder.mkdir()
    write_dji_photo(folder / "DJI_0001.JPG")
    write_jpeg(folder / "IMG_2.jpg")
    (folder / ".thumbnails").mkdir()
    (folder / ".thumbnails" / "x.jpg").write_bytes(b"junk")
    (folder / "leeme.txt").write_text("notas")
    results, failures = read_many([folder])
    assert sorted(Path(r.source).name for r in results) == ["DJI_0001.JPG", "IMG_2.jpg"]
    assert [Path(f.source).name for f in failures] == ["leeme.txt"]


def test_reader_exceptions_become_named_errors(tmp_path, monkeypatch):
    path = write_gpx(tmp_path / "ok.gpx")

    def boom(*args, **kwargs):
        raise ValueError("internal detail")

    monkeypatch.setattr(importers()["gpx"], "read", boom)
    results, failures = read_many([path])
    assert results == [] and "ok.gpx" in failures[0].error.user_text()
    assert "internal detail" not in failures[0].error.user_text()


def test_a_plugin_registers_like_the_builtins(tmp_path, monkeypatch):
    monkeypatch.setattr(registry_module, "_REGISTRY", dict(registry_module._REGISTRY))

    @register_importer
    class LogbookImporter:
        name = "logbook"
        title = "Logbook (.logbook)"

        def sniff(self, probe: Probe) -> int:
            return 99 if probe.suffix == ".logbook" else 0

        def read(self, path: Path, *, source: str, options: ImportOptions) -> FieldImport:
            from shapely.geometry import Point

            lon, lat = (float(v) for v in path.read_text().split(","))
            sha, size = file_digest(path)
            from vigilancia.domain.field import FieldFile

            return FieldImport(
                "logbook", source,
                (FieldObservation("logbook", source, "1", ObservationKind.WAYPOINT,
                                  Point(lon, lat)),),
                (FieldFile(path.name, str(path), sha, size, FileRole.ORIGINAL),),
            )

    path = tmp_path / "dia.logbook"
    path.write_text("-74.9,-9.3")
    assert detect(path).name == "logbook"
    assert read(path).observations[0].geometry.x == -74.9
    with pytest.raises(TypeError):
        register_importer(object())
