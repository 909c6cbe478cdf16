"""Field import: archive limits, leftovers of killed imports, owner-only evidence, clocks
without a time zone and waypoints that name a case.

The workspace is built through the real services, as in test_field_import.py.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import gpxpy.gpx
import pytest
from field_samples import central_rows, csv_text, write_central_zip, write_jpeg, write_zip_bomb
from shapely.geometry import box, mapping
from typer.testing import CliRunner

from vigilancia.cli import app
from vigilancia.config import Settings
from vigilancia.domain.field import Verdict
from vigilancia.i18n import set_language
from vigilancia.io.field import common as field_common
from vigilancia.io.files import temp_name
from vigilancia.services.cases import open_cases
from vigilancia.services.field import EVIDENCE_DIR, import_field
from vigilancia.services.monitor import MonitorRequest, run_monitor
from vigilancia.services.territories import import_territories

SETTINGS = Settings(language="en", buffer_km=2.0)
ALFA = box(-75.00, -9.50, -74.95, -9.45)
CLEARING_1 = box(-74.980, -9.480, -74.978, -9.478)
CLEARING_2 = box(-74.960, -9.462, -74.958, -9.460)


def write_geojson(path: Path, features) -> Path:
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": mapping(g), "properties": p} for g, p in features]}
    path.write_text(json.dumps(fc), encoding="utf-8")
    return path


@pytest.fixture
def workspace(store_factory, tmp_path: Path):
    set_language("en")
    store = store_factory.create(tmp_path / "ws", name="Federación")
    communities = write_geojson(tmp_path / "comunidades.geojson",
                                [(ALFA, {"nomcom": "CN Alfa"})])
    import_territories(store, str(communities), kind="community", name_field="nomcom")
    alerts = write_geojson(tmp_path / "alertas.geojson", [
        (CLEARING_1, {"alert_code": "A1", "detected_at": "2024-04-10", "area_ha": 4.9}),
        (CLEARING_2, {"alert_code": "A2", "detected_at": "2024-04-20", "area_ha": 4.9}),
    ])
    run_monitor(store, MonitorRequest(str(alerts), "mapbiomas", classify=False), SETTINGS)
    assert len(open_cases(store, SETTINGS, as_of=date(2024, 6, 1)).opened) == 2
    yield store
    store.close()


def stored_state(store) -> tuple:
    """Rows and evidence files of a workspace."""
    files = sorted(p.relative_to(store.dir).as_posix()
                   for p in (store.dir / EVIDENCE_DIR).rglob("*") if p.is_file()) \
        if (store.dir / EVIDENCE_DIR).exists() else []
    return (len(store.observations.list()), len(store.field_files.list()),
            len(store.cases.list()), len(store.cases.events()), files)


def everything_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def dead_pid() -> int:
    """The id of a process that has ended (and was reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# --------------------------------------------------------------------------------------
# Archives
# --------------------------------------------------------------------------------------


def bomb_visits(n: int) -> str:
    visits = [{"key": f"uuid:b{i}", "lat": -9.479, "lon": -74.979, "verdict": "coca_confirmed",
               "photos": [f"foto_{3 * i + k}.jpg" for k in (1, 2, 3)]} for i in range(n)]
    header, rows = central_rows(visits)
    return csv_text(header, rows)


def test_the_split_zip_bomb_is_refused_and_nothing_is_written(workspace, store_factory,
                                                              tmp_path):
    """60 entries of 16 MiB of zeros, each under the old 'large entry' check: ~1 MB that
    expanded to 1 GB of evidence. Now refused by name before anything is read."""
    bomb = write_zip_bomb(tmp_path / "visitas.zip",
                          {"vigilancia_visita_verificacion.csv": bomb_visits(20).encode()},
                          members=60, member_bytes=16 << 20)
    assert bomb.stat().st_size < 1_100_000
    before = stored_state(workspace)
    ws_files = everything_under(workspace.dir)
    res = import_field(workspace, SETTINGS, [bomb], actor="ana")
    assert res.read == 0 and res.exit_code == 2 and res.observations_added == 0
    (failure,) = res.failures
    assert "zip bomb" in failure.message and "foto_" in failure.message
    assert stored_state(workspace) == before
    assert everything_under(workspace.dir) == ws_files  # no evidence, no temporary file
    # the same through the command line: exit 2, a Spanish message naming the archive
    cli = CliRunner().invoke(app, ["field", "import", str(workspace.dir), str(bomb)],
                             env={**store_factory.env(workspace.dir),
                                  "VIGILANCIA_LANGUAGE": "es", "COLUMNS": "200"})
    assert cli.exit_code == 2, cli.output
    assert "bomba zip" in cli.output and "visitas.zip" in cli.output
    assert everything_under(workspace.dir) == ws_files


def test_many_small_entries_that_expand_together_are_refused(workspace, tmp_path):
    """Entries under the per-entry floor (64 KiB) that add up: the archive as a whole
    expands more than 200 times."""
    bomb = write_zip_bomb(tmp_path / "pequenas.zip",
                          {"vigilancia_visita_verificacion.csv": bomb_visits(2).encode()},
                          members=3000, member_bytes=60_000)
    res = import_field(workspace, SETTINGS, [bomb], actor="ana")
    assert res.read == 0 and "zip bomb" in res.failures[0].message
    assert not (workspace.dir / EVIDENCE_DIR).exists()


def test_the_total_of_one_import_has_a_limit(workspace, tmp_path, monkeypatch):
    photo = write_jpeg(tmp_path / "v.jpg", size=(900, 700)).read_bytes()
    assert len(photo) > 5_000
    archives = []
    for n in range(3):
        media = {f"v{n}_{k}.jpg": photo + bytes([n, k]) for k in range(40)}
        visits = [{"key": f"uuid:{n}-{k}", "lat": -9.479, "lon": -74.979,
                   "photos": [f"v{n}_{k}.jpg"]} for k in range(40)]
        archives.append(write_central_zip(tmp_path / f"visitas_{n}.zip", visits, media))
    per_archive = len(photo) * 40
    # room for two archives, not three: the third is refused, by name, and nothing of it kept
    limit_mb = 2.5 * per_archive / 1e6
    res = import_field(workspace, Settings(language="en", field_max_import_mb=limit_mb),
                       archives, actor="ana")
    assert res.read == 2 and len(res.failures) == 1
    assert res.failures[0].source.endswith("visitas_2.zip")
    assert "VIGILANCIA_FIELD_MAX_IMPORT_MB" in res.failures[0].message
    kept = {r.source for r in workspace.field_files.list()}
    assert not any(s.endswith("visitas_2.zip") for s in kept)
    # an archive refused for another reason gives its share back
    broken = tmp_path / "roto.zip"
    broken.write_bytes(archives[0].read_bytes()[:-30])
    res = import_field(workspace, Settings(language="en", field_max_import_mb=limit_mb),
                       [broken, archives[2]], actor="ana")
    assert res.read == 1 and res.failures[0].source.endswith("roto.zip")
    # too many entries
    monkeypatch.setattr(field_common, "MAX_ARCHIVE_MEMBERS", 10)
    res = import_field(workspace, SETTINGS, [archives[0]], actor="ana")
    assert res.read == 0 and "41 entries" in res.failures[0].message


def test_the_setting_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("VIGILANCIA_FIELD_MAX_IMPORT_MB", "300")
    monkeypatch.setenv("VIGILANCIA_REPORT_CELL_DEG", "0.02")
    settings = Settings()
    assert settings.field_max_import_mb == 300.0 and settings.report_cell_deg == 0.02


# --------------------------------------------------------------------------------------
# Leftovers and modes
# --------------------------------------------------------------------------------------


def test_leftovers_of_killed_imports_are_removed_by_the_next_import(workspace, tmp_path):
    evidence = workspace.dir / EVIDENCE_DIR / "ab"
    evidence.mkdir(parents=True)
    pid = dead_pid()
    dead = evidence / f".vigilancia-tmp-{pid}-0123abcd.part"
    dead.write_bytes(b"\xff\xd8 a photo with its GPS")
    old_style = evidence / ".tmp-k2j4h5g6.part"  # the name earlier versions used
    old_style.write_bytes(b"\xff\xd8 another photo")
    alive = evidence / temp_name(suffix=".part")  # this process: a run still going
    alive.write_bytes(b"\xff\xd8 being written")
    mine = evidence / "notas.part"  # not vigilancia's name: never touched
    mine.write_bytes(b"del usuario")
    top = workspace.dir / f".vigilancia-tmp-{pid}-99999999-casos.gpkg"
    top.mkdir()
    (top / "casos.gpkg").write_bytes(b"half a package")
    photo = write_jpeg(tmp_path / "foto.jpg", lat=-9.4791, lon=-74.9791)
    import_field(workspace, SETTINGS, [photo], actor="ana")
    assert not dead.exists() and not old_style.exists()
    assert alive.exists() and mine.exists()
    # the workspace folder itself is tidied when a command opens it
    assert top.exists()
    reopened = type(workspace).open(workspace.dir, database_url=workspace.url
                                    if not workspace.is_sqlite else None)
    reopened.close()
    assert not top.exists() and alive.exists()


def _modes(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix() or ".": stat.S_IMODE(p.lstat().st_mode)
            for p in [folder, *folder.rglob("*")] if not p.is_symlink()}


def test_workspace_and_evidence_are_owner_only_whatever_the_umask(store_factory, tmp_path):
    if not store_factory.is_sqlite:
        pytest.skip("the modes of the database files are SQLite's")
    old = os.umask(0o000)
    try:
        store = store_factory.create(tmp_path / "ws")
        communities = write_geojson(tmp_path / "c.geojson", [(ALFA, {"nomcom": "CN Alfa"})])
        import_territories(store, str(communities), kind="community", name_field="nomcom")
        visits = [{"key": "uuid:m1", "lat": -9.47, "lon": -74.97, "notes": "claro nuevo",
                   "photos": ["m1.jpg"]}]
        photo = write_jpeg(tmp_path / "m1.jpg").read_bytes()
        import_field(store, SETTINGS, [write_central_zip(tmp_path / "v.zip", visits,
                                                         {"m1.jpg": photo})], actor="ana")
        with store.transaction() as conn:  # WAL and shared memory exist while it is open
            store.set_meta(conn, "touched", "yes")
            modes = _modes(store.dir)
        store.close()
    finally:
        os.umask(old)
    assert {"vigilancia.sqlite", "vigilancia.sqlite-wal", "vigilancia.sqlite-shm"} <= set(modes)
    assert modes["."] == 0o700
    for name, mode in modes.items():
        if (store.dir / name).is_dir():
            assert mode == 0o700, (name, oct(mode))
        elif name.startswith(EVIDENCE_DIR):
            assert mode == 0o400, (name, oct(mode))  # evidence: read-only, owner only
        else:
            assert mode == 0o600, (name, oct(mode))
    assert sum(n.startswith(EVIDENCE_DIR + "/") and "." in n for n in modes) == 3


def test_an_old_workspace_becomes_owner_only_when_opened(store_factory, tmp_path):
    store = store_factory.create(tmp_path / "ws")
    store.close()
    folder = tmp_path / "ws"
    evidence = folder / EVIDENCE_DIR / "ab"
    evidence.mkdir(parents=True)
    (evidence / "ab12.jpg").write_bytes(b"x")
    for path in [folder, folder / EVIDENCE_DIR, evidence]:
        path.chmod(0o755)
    (evidence / "ab12.jpg").chmod(0o444)
    if store_factory.is_sqlite:
        (folder / "vigilancia.sqlite").chmod(0o644)
    store_factory.open(folder).close()
    modes = _modes(folder)
    assert modes["."] == modes[EVIDENCE_DIR] == modes[f"{EVIDENCE_DIR}/ab"] == 0o700
    assert modes[f"{EVIDENCE_DIR}/ab/ab12.jpg"] == 0o400
    if store_factory.is_sqlite:
        assert modes["vigilancia.sqlite"] == 0o600


@pytest.mark.slow
def test_the_command_makes_everything_owner_only(tmp_path, store_factory):
    """The command line sets an owner-only umask: exports and packages too."""
    if not store_factory.is_sqlite:
        pytest.skip("one backend is enough for the command's umask")
    ws = tmp_path / "ws"
    communities = write_geojson(tmp_path / "c.geojson", [(ALFA, {"nomcom": "CN Alfa"})])
    alerts = write_geojson(tmp_path / "a.geojson", [
        (CLEARING_1, {"alert_code": "A1", "detected_at": "2024-04-10", "area_ha": 4.9})])
    env = dict(os.environ, VIGILANCIA_LANGUAGE="es")
    env.pop("VIGILANCIA_DATABASE_URL", None)

    def run(*args: str) -> None:
        out = subprocess.run([sys.executable, "-m", "vigilancia", *args], env=env,
                             capture_output=True, text=True, preexec_fn=lambda: os.umask(0))
        assert out.returncode == 0, out.stderr[-2000:]

    run("init", str(ws))
    run("territories", "import", str(ws), str(communities), "--name-field", "nomcom")
    run("monitor", str(ws), "--alerts", str(alerts), "--product", "mapbiomas")
    run("cases", "open", str(ws), "--as-of", "2024-06-01")
    run("clearings", "export", str(ws), "--output", str(ws / "exportes" / "claros.gpkg"))
    run("package", str(ws), "--territory", "CN Alfa", "--output", str(ws / "paquete.zip"))
    modes = _modes(ws)
    assert "paquete.zip" in modes and "exportes/claros.gpkg" in modes
    loose = {n: oct(m) for n, m in modes.items() if m & 0o077}
    assert not loose


# --------------------------------------------------------------------------------------
# Clocks without a time zone; waypoints that name a case
# --------------------------------------------------------------------------------------


def test_photos_without_a_zone_take_the_offset_given(workspace, store_factory, tmp_path):
    folder = tmp_path / "DCIM"
    folder.mkdir()
    for k in range(4):
        write_jpeg(folder / f"IMG_{k}.jpg", lat=-9.4791, lon=-74.9791 + k * 1e-5,
                   taken=datetime(2024, 5, 1, 10, k), offset=None)
    env = {**store_factory.env(workspace.dir), "VIGILANCIA_LANGUAGE": "es", "COLUMNS": "300"}
    first = CliRunner().invoke(app, ["field", "import", str(workspace.dir), str(folder)],
                               env=env)
    assert first.exit_code == 0, first.output
    text = " ".join(first.output.split())
    assert "4 registros tienen una hora sin zona horaria" in text
    assert "--utc-offset=-05:00" in text and "IMG_0.jpg" in text
    assert all(o.observed_at is None for o in workspace.observations.list())
    # again with the offset: the same photos get their time (nothing else is added)
    again = CliRunner().invoke(app, ["field", "import", str(workspace.dir), str(folder),
                                     "--utc-offset", "-05:00", "--json"], env=env)
    assert again.exit_code == 0, again.output
    res = json.loads(again.stdout)
    assert res["observations_added"] == 0 and res["times_set"] == 4 and not res["warnings"]
    times = sorted(o.observed_at for o in workspace.observations.list())
    assert times[0] == datetime(2024, 5, 1, 15, 0, tzinfo=UTC)
    # a new photo imported with the offset has its time at once; a bad offset is refused
    new = write_jpeg(tmp_path / "IMG_9.jpg", lat=-9.4791, lon=-74.9792,
                     taken=datetime(2024, 5, 2, 7, 30), offset=None)
    res = import_field(workspace, SETTINGS, [new], actor="ana", utc_offset="UTC-5")
    assert res.observations_added == 1 and not res.warnings
    assert max(o.observed_at for o in workspace.observations.list()) == datetime(
        2024, 5, 2, 12, 30, tzinfo=UTC)
    bad = CliRunner().invoke(app, ["field", "import", str(workspace.dir), str(new),
                                   "--utc-offset", "Lima"], env=env)
    assert bad.exit_code == 2 and "--utc-offset" in bad.output
    assert "no es una diferencia con UTC" in " ".join(bad.output.split())


@pytest.mark.parametrize("text, hours", [("-05:00", -5), ("-0500", -5), ("-5", -5),
                                         ("UTC-5", -5), ("+05:30", 5.5), ("Z", 0)])
def test_utc_offsets_as_people_write_them(text, hours):
    assert field_common.parse_utc_offset(text) == timedelta(hours=hours)


@pytest.mark.parametrize("text", ["Lima", "-25:00", "-05:75", "5"])
def test_utc_offsets_that_are_not(text):
    with pytest.raises(ValueError):
        field_common.parse_utc_offset(text)


def write_waypoints(path: Path, points) -> Path:
    gpx = gpxpy.gpx.GPX()
    for lon, lat, name, desc in points:
        gpx.waypoints.append(gpxpy.gpx.GPXWaypoint(
            latitude=lat, longitude=lon, name=name, description=desc,
            time=datetime(2024, 6, 3, 14, 0, tzinfo=UTC)))
    path.write_text(gpx.to_xml(), encoding="utf-8")
    return path


def test_a_waypoint_whose_name_holds_a_case_code_attaches_to_it(workspace, tmp_path):
    case1 = next(c for c in workspace.cases.list() if CLEARING_1.contains(
        box(c.lon - 1e-6, c.lat - 1e-6, c.lon + 1e-6, c.lat + 1e-6)))
    far = (-74.9550, -9.4550)  # ~3 km from case 1, inside Alfa
    gpx = write_waypoints(tmp_path / "w.gpx", [
        (*far, f"{case1.code} coca", "plantones"),
        (-74.9700, -9.4900, f"visita {case1.code.lower()}", None),
        (-74.9650, -9.4700, "Campamento C3 C-12", "dos códigos no son un caso"),
    ])
    res = import_field(workspace, SETTINGS, [gpx], actor="ana")
    obs = {o.record_id: o for o in workspace.observations.list()}
    assert obs["wpt-1"].case_id == case1.id and obs["wpt-1"].distance_m > 2500
    assert obs["wpt-2"].case_id == case1.id
    assert obs["wpt-3"].case_id != case1.id  # "C3" is not a code; "C-12" is unknown
    assert res.new_cases == (obs["wpt-3"].case_id,)
    assert not any(c.verdict is Verdict.COCA_CONFIRMED for c in workspace.cases.list())
