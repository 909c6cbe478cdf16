"""vigilancia field import: files kept byte for byte, observations attached to cases, verdicts.

The workspace is built through the real services (territories, MapBiomas-style
alert polygons, monitor, open_cases); the field files are written the way the
apps write them (tests/io/field_samples.py).
"""

from __future__ import annotations

import hashlib
import json
import stat
from datetime import UTC, date, datetime
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
)
from pyproj import Geod
from shapely.geometry import box, mapping
from typer.testing import CliRunner

from vigilancia.config import Settings
from vigilancia.domain.cases import CaseOrigin, CaseStatus
from vigilancia.domain.drivers import Driver
from vigilancia.domain.field import Verdict
from vigilancia.errors import StoreError
from vigilancia.i18n import set_language
from vigilancia.services.cases import open_cases, update_case
from vigilancia.services.field import (
    EVIDENCE_DIR,
    import_field,
    list_observations,
    observation_key,
)
from vigilancia.services.monitor import MonitorRequest, run_monitor
from vigilancia.services.territories import import_territories

SETTINGS = Settings(language="en", buffer_km=2.0)
GEOD = Geod(ellps="WGS84")

ALFA = box(-75.00, -9.50, -74.95, -9.45)
BETA = box(-74.90, -9.50, -74.85, -9.45)
# alert polygons (about 220 m a side), far enough apart to be three cases
CLEARING_1 = box(-74.980, -9.480, -74.978, -9.478)  # Alfa
CLEARING_2 = box(-74.960, -9.462, -74.958, -9.460)  # Alfa
CLEARING_3 = box(-74.880, -9.480, -74.878, -9.478)  # Beta


def write_geojson(path: Path, features: list[tuple[object, dict[str, object]]]) -> Path:
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": mapping(g), "properties": p} for g, p in features]}
    path.write_text(json.dumps(fc), encoding="utf-8")
    return path


@pytest.fixture
def workspace(store_factory, tmp_path: Path):
    """Two communities with three alert cases (one per clearing)."""
    set_language("en")
    store = store_factory.create(tmp_path / "ws", name="Federación")
    communities = write_geojson(tmp_path / "comunidades.geojson", [
        (ALFA, {"nomcom": "CN Alfa"}), (BETA, {"nomcom": "CN Beta"})])
    import_territories(store, str(communities), kind="community", name_field="nomcom")
    alerts = write_geojson(tmp_path / "alertas.geojson", [
        (CLEARING_1, {"alert_code": "A1", "detected_at": "2024-04-10", "area_ha": 4.9}),
        (CLEARING_2, {"alert_code": "A2", "detected_at": "2024-04-20", "area_ha": 4.9}),
        (CLEARING_3, {"alert_code": "A3", "detected_at": "2024-05-20", "area_ha": 4.9}),
    ])
    run_monitor(store, MonitorRequest(str(alerts), "mapbiomas", classify=False), SETTINGS)
    opened = open_cases(store, SETTINGS, as_of=date(2024, 6, 1))
    assert len(opened.opened) == 3
    yield store
    store.close()


def case_at(store, clearing):
    """The case whose point lies in ``clearing``."""
    c = clearing.centroid
    found = [k for k in store.cases.list() if abs(k.lon - c.x) < 1e-4 and abs(k.lat - c.y) < 1e-4]
    assert len(found) == 1, store.cases.list()
    return found[0]


def field_files(tmp_path: Path, store) -> dict[str, Path]:
    """An ODK Central download, a CoMapeo export and a GPX of one patrol."""
    d = tmp_path / "campo"
    d.mkdir()
    case1, case2 = case_at(store, CLEARING_1), case_at(store, CLEARING_2)
    photo = write_jpeg(d / "foto.jpg").read_bytes()
    odk = write_central_zip(d / "visitas.zip", [
        {"key": "uuid:visit-1", "case_id": case1.code, "lat": -9.4785, "lon": -74.9795,
         "verdict": "coca_confirmed", "notes": "plantones de coca", "photos": ["v1.jpg"]},
        {"key": "uuid:visit-2", "case_id": case2.code, "lat": -9.4615, "lon": -74.9595,
         "verdict": "not_reached", "reached": "no", "notes": "río crecido"},
    ], {"v1.jpg": photo})
    # CoMapeo observation 120 m (about) due north of the top edge of clearing 3
    north = comapeo_observation("c0ffee01", -74.879, -9.478 + 120 / 110_574.0,
                                tags={"notes": "", "type": "clearing"}, attachments=["p1"])
    comapeo = write_comapeo_export(d / "CoMapeo_export.zip",
                                   [comapeo_feature_current(north, ["p1_original.jpg"])],
                                   {"p1_original.jpg": photo})
    # a waypoint with notes far from every case (in Alfa), a bare one, and a track past case 2
    gpx = write_gpx(d / "ruta.gpx", waypoints=[], track=[
        (-74.9630, -9.4650, datetime(2024, 6, 2, 14, 0, tzinfo=UTC)),
        (-74.9600, -9.4630, datetime(2024, 6, 2, 14, 30, tzinfo=UTC)),
        (-74.9500, -9.4600, datetime(2024, 6, 2, 15, 0, tzinfo=UTC)),
    ])
    text = gpx.read_text(encoding="utf-8").replace(
        "<trk>",
        '<wpt lat="-9.4950" lon="-74.9950"><time>2024-06-02T15:00:00Z</time><name>Campamento'
        "</name><desc>campamento de madereros, humo</desc></wpt>"
        '<wpt lat="-9.4900" lon="-74.9900"><name>Descanso</name></wpt><trk>', 1)
    gpx.write_text(text, encoding="utf-8")
    return {"odk": odk, "comapeo": comapeo, "gpx": gpx}


def test_import_attaches_verifies_labels_and_opens_field_cases(workspace, tmp_path):
    store = workspace
    files = field_files(tmp_path, store)
    case1, case2, case3 = (case_at(store, c) for c in (CLEARING_1, CLEARING_2, CLEARING_3))
    res = import_field(store, SETTINGS, list(files.values()), actor="coordinadora")
    assert res.failures == ()
    assert res.exit_code == 0
    # 2 forms, 1 CoMapeo point, 2 waypoints and 1 track
    assert res.observations_added == 6 and res.observations_skipped == 0
    assert res.attached == 4  # forms, CoMapeo point, reported waypoint
    assert res.verdicts_applied == 1

    # the ODK visit naming case 1 verified it as coca and labelled its clearings
    after1 = store.cases.get(case1.id)
    assert after1.status is CaseStatus.VERIFIED and after1.verdict is Verdict.COCA_CONFIRMED
    labels = [lab for lab in store.labels.list() if lab.clearing_id in after1.clearing_ids]
    assert labels and {lab.driver for lab in labels} == {Driver.COCA}
    assert {lab.observed_at for lab in labels} == {date(2024, 5, 1)}
    events = store.cases.events(case1.id)
    assert [e.action for e in events][-2:] == ["observation", "verdict"]
    assert events[-1].actor == "import:visitas.zip"
    assert "Monitor" not in json.dumps([dict(e.detail) for e in events])  # no submitter name
    # "not reached" leaves case 2 open, with the visit in its history
    after2 = store.cases.get(case2.id)
    assert after2.status is CaseStatus.NEW and after2.verdict is None
    assert any(e.action == "verdict" and e.detail["verdict"] == "not_reached"
               for e in store.cases.events(case2.id))

    # the CoMapeo observation attached to case 3 at the geodesic distance to its clearing
    obs = {o.record_id: o for o in list_observations(store)}
    expected = GEOD.inv(-74.879, -9.478, -74.879, -9.478 + 120 / 110_574.0)[2]
    assert obs["c0ffee01"].case_code == case3.code
    assert obs["c0ffee01"].distance_m == pytest.approx(expected, abs=1.0)
    assert store.cases.get(case3.id).status is CaseStatus.NEW

    # the reported waypoint opened a field case in CN Alfa; the bare one attached nowhere
    assert len(res.new_cases) == 1
    field_case = store.cases.get(res.new_cases[0])
    assert field_case.origin is CaseOrigin.FIELD and field_case.status is CaseStatus.NEW
    alfa = next(t for t in store.territories.list() if t.name == "CN Alfa")
    assert field_case.territory_id == alfa.id
    assert (field_case.lon, field_case.lat) == pytest.approx((-74.995, -9.495))
    assert obs["wpt-1"].case_code == field_case.code and obs["wpt-1"].distance_m == 0
    assert obs["wpt-2"].case_code is None
    # the track attached to no case but passed case 2
    assert obs["trk-1-1"].case_code is None and obs["trk-1-1"].points == 3
    assert [(t.record_id, t.cases) for t in res.tracks] == [("trk-1-1", (case2.code,))]
    assert any(e.action == "track_passed" for e in store.cases.events(case2.id))

    touched = {c.code: c for c in res.cases}
    assert touched[case1.code].status is CaseStatus.VERIFIED
    assert touched[case1.code].verdict is Verdict.COCA_CONFIRMED
    assert touched[field_case.code].opened
    assert case2.code in touched and case3.code in touched


def test_files_are_kept_byte_for_byte_and_reimport_adds_nothing(workspace, tmp_path):
    store = workspace
    files = field_files(tmp_path, store)
    first = import_field(store, SETTINGS, list(files.values()), actor="ana")
    kept = store.field_files.list()
    # the ZIPs, their CSV/GeoJSON, the two media files (same photo bytes: kept once) and the GPX
    assert first.files_kept == len(kept) == 6
    for row in kept:
        path = store.dir / row.stored_path
        assert path.parent.parent.name == EVIDENCE_DIR
        assert hashlib.sha256(path.read_bytes()).hexdigest() == row.sha256
        assert path.name.startswith(row.sha256)
        assert path.stat().st_size == row.size
        assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    originals = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files.values()}
    assert set(originals.values()) <= {r.sha256 for r in kept}
    assert not list((store.dir / EVIDENCE_DIR).rglob(".vigilancia-tmp-*"))

    events = len(store.cases.events())
    labels = len(store.labels.list())
    again = import_field(store, SETTINGS, list(files.values()), actor="ana")
    assert again.observations_added == 0 and again.observations_skipped == 6
    assert again.files_kept == 0 and again.files_known == 6
    assert again.new_cases == () and again.verdicts_applied == 0 and again.cases == ()
    assert len(store.observations.list()) == 6
    assert len(store.cases.events()) == events and len(store.labels.list()) == labels


def test_a_later_cumulative_odk_download_adds_only_new_submissions(workspace, tmp_path):
    store = workspace
    case1 = case_at(store, CLEARING_1)
    visit = {"key": "uuid:visit-1", "case_id": case1.code, "lat": -9.4785, "lon": -74.9795,
             "verdict": "logging"}
    first = write_central_zip(tmp_path / "descarga1.zip", [visit], {})
    import_field(store, SETTINGS, [first], actor="ana")
    later = write_central_zip(tmp_path / "descarga2.zip", [
        visit, {"key": "uuid:visit-9", "lat": -9.4786, "lon": -74.9796, "notes": "otra vez"}], {})
    res = import_field(store, SETTINGS, [later], actor="ana")
    assert (res.observations_added, res.observations_skipped) == (1, 1)
    assert observation_key("odk", "a" * 64, "uuid:1") == observation_key("odk", "b" * 64, "uuid:1")
    assert observation_key("gpx", "a" * 64, "wpt-1") != observation_key("gpx", "b" * 64, "wpt-1")
    # the verified case still takes the second visit's observation (no verdict)
    assert res.attached == 1 and res.new_cases == ()


def test_verdicts_repeat_correct_and_refused(workspace, tmp_path):
    store = workspace
    case1 = case_at(store, CLEARING_1)
    visit = {"case_id": case1.code, "lat": -9.4785, "lon": -74.9795}
    one = write_central_zip(tmp_path / "v1.zip", [visit | {"key": "uuid:a",
                                                          "verdict": "mining"}], {})
    res = import_field(store, SETTINGS, [one], actor="ana")
    assert res.verdicts_applied == 1
    # the same verdict in another submission adds nothing
    same = write_central_zip(tmp_path / "v2.zip", [visit | {"key": "uuid:b",
                                                           "verdict": "mining"}], {})
    labels = len(store.labels.list())
    res = import_field(store, SETTINGS, [same], actor="ana")
    assert res.verdicts_applied == 0 and len(store.labels.list()) == labels
    # a different verdict corrects it
    fix = write_central_zip(tmp_path / "v3.zip", [visit | {"key": "uuid:c",
                                                          "verdict": "agriculture"}], {})
    res = import_field(store, SETTINGS, [fix], actor="ana")
    assert res.verdicts_applied == 1
    assert store.cases.get(case1.id).verdict is Verdict.AGRICULTURE
    assert store.labels.list()[-1].driver is Driver.AGRICULTURE
    # a closed case refuses a verdict: a warning naming the file and record; stored anyway
    update_case(store, case1.id, actor="ana", status=CaseStatus.CLOSED)
    late = write_central_zip(tmp_path / "v4.zip", [visit | {"key": "uuid:d",
                                                           "verdict": "coca_confirmed"}], {})
    res = import_field(store, SETTINGS, [late], actor="ana")
    assert res.verdicts_applied == 0 and res.observations_added == 1
    assert store.cases.get(case1.id).status is CaseStatus.CLOSED
    (warning,) = res.warnings
    assert "v4.zip" in warning.message and "uuid:d" in warning.message
    assert "closed" in warning.message


def test_the_latest_verdict_of_one_import_is_the_one_kept(workspace, tmp_path):
    store = workspace
    case1 = case_at(store, CLEARING_1)
    visit = {"case_id": case1.code, "lat": -9.4785, "lon": -74.9795}
    # the newer submission comes first in the download
    both = write_central_zip(tmp_path / "v.zip", [
        visit | {"key": "uuid:new", "verdict": "agriculture",
                 "arrival_time": "2024-06-03T10:00:00.000-05:00"},
        visit | {"key": "uuid:old", "verdict": "mining",
                 "arrival_time": "2024-06-02T10:00:00.000-05:00"},
    ], {})
    res = import_field(store, SETTINGS, [both], actor="ana")
    assert res.verdicts_applied == 2
    assert store.cases.get(case1.id).verdict is Verdict.AGRICULTURE
    assert store.labels.list()[-1].driver is Driver.AGRICULTURE


def test_a_position_goes_to_the_case_alerted_before_the_visit(workspace, tmp_path):
    store = workspace
    case1 = case_at(store, CLEARING_1)  # first alert 2024-04-10
    # a clearing alerted on 2024-06-20, 220 m east of clearing 1, opened as its own case
    later = box(-74.9760, -9.480, -74.9740, -9.478)
    alerts = write_geojson(tmp_path / "nuevas.geojson", [
        (later, {"alert_code": "A4", "detected_at": "2024-06-20", "area_ha": 4.9})])
    run_monitor(store, MonitorRequest(str(alerts), "mapbiomas", classify=False), SETTINGS)
    open_cases(store, SETTINGS.model_copy(update={"case_group_m": 50.0}),
               as_of=date(2024, 7, 1))
    case4 = case_at(store, later)
    # both visits stand 55 m from the new clearing and 165 m from clearing 1
    spot = {"lat": -9.479, "lon": -74.9765}
    path = write_central_zip(tmp_path / "v.zip", [
        spot | {"key": "uuid:before", "arrival_time": "2024-06-10T10:00:00.000-05:00"},
        spot | {"key": "uuid:after", "arrival_time": "2024-06-25T10:00:00.000-05:00"},
    ], {})
    res = import_field(store, SETTINGS, [path], actor="ana")
    assert res.attached == 2
    assert [o.record_id for o in list_observations(store, case=case1.code)] == ["uuid:before"]
    assert [o.record_id for o in list_observations(store, case=case4.code)] == ["uuid:after"]


def test_unknown_case_code_warns_and_matches_by_position(workspace, tmp_path):
    store = workspace
    case1 = case_at(store, CLEARING_1)
    path = write_central_zip(tmp_path / "v.zip", [
        {"key": "uuid:x", "case_id": "C-0999", "lat": -9.4785, "lon": -74.9795}], {})
    res = import_field(store, SETTINGS, [path], actor="ana")
    assert res.attached == 1
    assert [o.case_code for o in list_observations(store)] == [case1.code]
    assert any("C-0999" in w.message and "uuid:x" in w.message for w in res.warnings)


def test_photos_kml_tags_and_waypoint_names(workspace, tmp_path):
    store = workspace
    case2, case3 = case_at(store, CLEARING_2), case_at(store, CLEARING_3)
    dcim = tmp_path / "DCIM"
    dcim.mkdir()
    write_jpeg(dcim / "IMG_0001.jpg", lon=-74.86, lat=-9.49)  # a phone photo far from cases
    write_dji_photo(dcim / "DJI_0001.JPG", lon=-74.80, lat=-9.40)  # a survey photo: no case
    truncate(write_jpeg(dcim / "IMG_0002.jpg", size=(320, 240)))
    kml = write_kml(tmp_path / "visita.kml", (
        f'<Placemark id="v1"><name>Visita</name><ExtendedData><Data name="caso"><value>'
        f"{case3.code}</value></Data><Data name=\"veredicto\"><value>mining</value></Data>"
        "</ExtendedData><Point><coordinates>-74.870,-9.470</coordinates></Point></Placemark>"))
    gpx = write_gpx(tmp_path / "puntos.gpx", waypoints=[(-74.959, -9.4655, case2.code)])
    res = import_field(store, SETTINGS, [dcim, kml, gpx], actor="ana")
    assert [Path(f.source).name for f in res.failures] == ["IMG_0002.jpg"]
    assert res.exit_code == 0 and res.read == 4
    obs = {o.record_id: o for o in list_observations(store)}
    # the phone photo opened a field case in CN Beta; the drone photo attached nowhere
    (new,) = res.new_cases
    beta = next(t for t in store.territories.list() if t.name == "CN Beta")
    assert store.cases.get(new).territory_id == beta.id
    assert obs["IMG_0001.jpg"].case_code == store.cases.get(new).code
    assert obs["DJI_0001.JPG"].case_code is None
    # the KML placemark named case 3 (tag "caso") 1.2 km away: attached, verdict, warning
    assert obs["v1"].case_code == case3.code and obs["v1"].distance_m > 1000
    assert store.cases.get(case3.id).verdict is Verdict.MINING
    assert any("v1" in w.message and case3.code in w.message and "300 m" in w.message
               for w in res.warnings)
    # the waypoint named after case 2, 400 m from it, attached to it by its name
    assert obs["wpt-1"].case_code == case2.code
    assert obs["wpt-1"].distance_m == pytest.approx(
        GEOD.inv(-74.959, -9.462, -74.959, -9.4655)[2], abs=1.0)


def test_a_package_gpx_coming_back_marks_and_passes_nothing(workspace, tmp_path):
    import gpxpy.gpx

    store = workspace
    cases = [case_at(store, c) for c in (CLEARING_1, CLEARING_2, CLEARING_3)]
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "vigilancia"
    route = gpxpy.gpx.GPXRoute(name="Plan")
    for c in cases:  # as casos.gpx of a package: a marker per case and the planned route
        gpx.waypoints.append(gpxpy.gpx.GPXWaypoint(
            latitude=round(c.lat, 6), longitude=round(c.lon, 6), name=c.code,
            description="Prioridad 80"))
        route.points.append(gpxpy.gpx.GPXRoutePoint(latitude=c.lat, longitude=c.lon))
    gpx.routes.append(route)
    path = tmp_path / "casos.gpx"
    path.write_text(gpx.to_xml(), encoding="utf-8")
    res = import_field(store, SETTINGS, [path], actor="ana")
    assert res.observations_added == 4
    assert res.attached == 0 and res.new_cases == () and res.tracks == ()
    assert sum("package" in w.message for w in res.warnings) == 3
    assert not [e for e in store.cases.events() if e.action in ("observation", "track_passed")]


def test_bad_inputs_are_named_and_the_rest_imports(workspace, tmp_path):
    store = workspace
    good = field_files(tmp_path, store)
    bad_dir = tmp_path / "malos"
    bad_dir.mkdir()
    bad = {
        "truncated": truncate(write_jpeg(bad_dir / "cortada.jpg", size=(320, 240))),
        "empty_gpx": write_gpx(bad_dir / "sin_puntos.gpx", waypoints=[]),
        "traversal": write_kmz(bad_dir / "trampa.kmz", extra={"../evil.kml": b"<kml/>"}),
        "bomb": bad_dir / "bomba.kml",
        "delimiter": bad_dir / "separador.csv",
    }
    bad["bomb"].write_text(billion_laughs("kml"))
    header, rows = central_rows([{"key": "uuid:z", "lat": -9.38, "lon": -74.96}])
    bad["delimiter"].write_text(csv_text(header, rows, delimiter="|"))
    order = [good["odk"], bad["truncated"], bad["empty_gpx"], good["comapeo"],
             bad["traversal"], bad["bomb"], bad["delimiter"], good["gpx"]]
    res = import_field(store, SETTINGS, order, actor="ana")
    assert sorted(f.source for f in res.failures) == sorted(str(p) for p in bad.values())
    for failure in res.failures:
        assert Path(failure.source).name in failure.message
    assert res.observations_added == 6 and res.exit_code == 0
    assert not (tmp_path / "evil.kml").exists()
    kept_names = {r.name for r in store.field_files.list()}
    assert not kept_names & {p.name for p in bad.values()}
    # nothing at all could be read: exit code 2
    only_bad = import_field(store, SETTINGS, list(bad.values()), actor="ana")
    assert only_bad.exit_code == 2 and only_bad.observations_added == 0


def test_a_failure_midway_leaves_the_store_as_it_was(workspace, tmp_path, monkeypatch):
    store = workspace
    files = field_files(tmp_path, store)

    def counts():
        return (len(store.field_files.list()), len(store.observations.list()),
                len(store.cases.list()), len(store.cases.events()), len(store.labels.list()),
                [(c.status, c.verdict) for c in store.cases.list()])

    before = counts()

    def boom(*args, **kwargs):
        raise RuntimeError("disk unplugged")

    monkeypatch.setattr(store.observations, "add", boom)
    with pytest.raises(RuntimeError):
        import_field(store, SETTINGS, list(files.values()), actor="ana")
    assert counts() == before
    monkeypatch.undo()
    # a retry reuses the evidence files already written (untouched) and imports everything
    written = {p: (p.stat().st_ino, p.stat().st_mtime_ns)
               for p in (store.dir / EVIDENCE_DIR).rglob("*") if p.is_file()}
    assert len(written) == 6
    res = import_field(store, SETTINGS, list(files.values()), actor="ana")
    assert res.observations_added == 6 and res.files_kept == 6
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in written} == written
    assert not list((store.dir / EVIDENCE_DIR).rglob(".vigilancia-tmp-*"))


def test_an_altered_kept_copy_is_refused(workspace, tmp_path):
    store = workspace
    files = field_files(tmp_path, store)
    import_field(store, SETTINGS, [files["odk"]], actor="ana")
    kept = next(p for p in (store.dir / EVIDENCE_DIR).rglob("*.zip"))
    kept.chmod(0o644)
    data = bytearray(kept.read_bytes())
    data[-1] ^= 0xFF
    kept.write_bytes(bytes(data))
    before = (len(store.field_files.list()), len(store.observations.list()))
    with pytest.raises(StoreError, match="altered"):
        import_field(store, SETTINGS, [files["odk"]], actor="ana")
    assert (len(store.field_files.list()), len(store.observations.list())) == before


def test_cli_import_and_list(workspace, store_factory, tmp_path):
    from vigilancia.cli import app

    store = workspace
    files = field_files(tmp_path, store)
    case1 = case_at(store, CLEARING_1)
    bad = write_gpx(tmp_path / "vacio.gpx", waypoints=[])
    env = store_factory.env(store.dir) | {"VIGILANCIA_LANGUAGE": "en", "COLUMNS": "200"}
    runner = CliRunner()
    res = runner.invoke(app, ["field", "import", str(store.dir), *map(str, files.values()),
                              str(bad)], env=env)
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "6 observations added" in text
    assert "vacio.gpx" in text
    assert case1.code in text
    res = runner.invoke(app, ["field", "import", str(store.dir), str(files["gpx"]), "--json"],
                        env=env)
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["observations_added"] == 0 and payload["observations_skipped"] == 3
    res = runner.invoke(app, ["field", "import", str(store.dir), str(files["gpx"])],
                        env=env | {"VIGILANCIA_LANGUAGE": "es"})
    text = " ".join(res.output.split())
    assert "0 observaciones añadidas (3 ya importadas), 0 asociadas a casos, 0 casos nuevos, " \
        "0 veredictos aplicados" in text, text
    res = runner.invoke(app, ["field", "list", str(store.dir), "--case", case1.code], env=env)
    assert res.exit_code == 0, res.output
    assert "Field observations" in res.output and "1 observation\n" in res.output
    res = runner.invoke(app, ["field", "list", str(store.dir), "--case", case1.code, "--json"],
                        env=env)
    assert [r["record"] for r in json.loads(res.stdout)] == ["uuid:visit-1"]
    res = runner.invoke(app, ["field", "list", str(store.dir), "--json"], env=env)
    rows = json.loads(res.stdout)
    assert len(rows) == 6 and "geometry" not in rows[0]
    res = runner.invoke(app, ["field", "import", str(store.dir), str(bad)], env=env)
    assert res.exit_code == 2


# ------------------------------------------------------------------ one case, whole


def test_show_case_gives_clearings_history_observations_and_evidence(workspace, tmp_path):
    from vigilancia.results import jsonable
    from vigilancia.services.cases import show_case

    store = workspace
    files = field_files(tmp_path, store)
    import_field(store, SETTINGS, list(files.values()), actor="coordinadora")
    case1 = case_at(store, CLEARING_1)
    detail = show_case(store, case1.code)
    assert detail.case.code == case1.code and detail.territory == "CN Alfa"
    assert [c.id for c in detail.clearings] == list(case1.clearing_ids)
    first = detail.clearings[0]
    assert first.area_ha > 0 and first.first_alert == date(2024, 4, 10)
    assert [e.action for e in detail.history][:1] == ["opened"]
    assert "verdict" in [e.action for e in detail.history]
    assert [o.record_id for o in detail.observations] == ["uuid:visit-1"]
    # the ODK submissions file the visit came in and the photo attached to it
    kept = {f.sha256: f for f in detail.evidence}
    photo = hashlib.sha256((tmp_path / "campo" / "foto.jpg").read_bytes()).hexdigest()
    assert photo in kept and kept[photo].role == "attachment"
    assert {(f.name, f.role) for f in detail.evidence} == {
        ("vigilancia_visita_verificacion.csv", "data"), ("media/v1.jpg", "attachment")}
    for f in detail.evidence:
        assert (store.dir / f.stored_path).is_file()
    data = jsonable(detail)
    assert data["case"] == case1.code and data["territory"] == "CN Alfa"
    assert data["clearings"] == list(case1.clearing_ids)
    assert data["history"][0]["action"] == "opened" and data["history"][0]["to"] == "new"
    assert data["observations"][0]["record"] == "uuid:visit-1"
    assert "lon" not in data["observations"][0]  # report points stay out
    assert {f["sha256"] for f in data["evidence"]} == set(kept)
    assert json.loads(json.dumps(data)) == data  # plain JSON values only
    assert show_case(store, str(case1.id)).case.id == case1.id


def test_cli_cases_show_prints_the_case_and_its_field_data(workspace, store_factory, tmp_path):
    from vigilancia.cli import app

    store = workspace
    files = field_files(tmp_path, store)
    import_field(store, SETTINGS, list(files.values()), actor="coordinadora")
    case1 = case_at(store, CLEARING_1)
    env = store_factory.env(store.dir) | {"VIGILANCIA_LANGUAGE": "en", "COLUMNS": "200"}
    runner = CliRunner()
    res = runner.invoke(app, ["cases", "show", str(store.dir), case1.code], env=env)
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert case1.code in text and "CN Alfa" in text and "History" in text
    assert "Field observations" in text and "uuid:visit-1" in text
    assert "Evidence files" in text and "media/v1.jpg" in text
    res = runner.invoke(app, ["cases", "show", str(store.dir), case1.code, "--json"], env=env)
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["case"] == case1.code and data["verdict"] == "coca_confirmed"
    assert [o["record"] for o in data["observations"]] == ["uuid:visit-1"]
    assert len(data["evidence"]) >= 2 and data["clearing_details"][0]["id"] in data["clearings"]
    res = runner.invoke(app, ["cases", "show", str(store.dir), "C-9999"], env=env)
    assert res.exit_code == 3
    assert "vigilancia cases list WORKSPACE" in " ".join(res.output.split())
