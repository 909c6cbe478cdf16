"""``vigilancia field import`` killed at random moments, then run again, ends exactly as a
clean run: the same rows, the same evidence files (byte for byte, owner-only), and no
orphan or temporary file.

The import is real work: a DCIM folder of phone photos without a time zone (with
``--utc-offset``), an ODK Central download with verdicts and their photos, and a GPX of a
patrol with a report far from every case (which opens a case). Each round starts from
the same workspace, starts the command in a subprocess, kills it (SIGKILL) after a
random share of a clean run's time, and runs it again to the end (in the test's process:
the same command, without a second start of Python).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import gpxpy.gpx
import numpy as np
import pytest
import sqlalchemy as sa
from field_samples import write_central_zip, write_jpeg
from PIL import Image
from shapely.geometry import box, mapping
from typer.testing import CliRunner

from vigilancia.cli import app
from vigilancia.config import Settings
from vigilancia.io.files import is_temp_name
from vigilancia.io.store import WorkspaceStore
from vigilancia.io.store import schema as s
from vigilancia.services.cases import open_cases
from vigilancia.services.monitor import MonitorRequest, run_monitor
from vigilancia.services.territories import import_territories

pytestmark = [pytest.mark.slow, pytest.mark.sqlite]

SETTINGS = Settings(language="es", buffer_km=2.0)
ALFA = box(-75.00, -9.50, -74.95, -9.45)
CLEARINGS = [box(-74.980, -9.480, -74.978, -9.478), box(-74.960, -9.462, -74.958, -9.460),
             box(-74.990, -9.460, -74.988, -9.458)]
KILLS = int(os.environ.get("VIGILANCIA_TEST_KILLS", "30"))
PHOTOS = 16
#: Columns that hold the wall-clock time of the run (they differ between any two runs).
RUN_TIMES = {"imported_at", "at", "created_at", "updated_at"}
#: Each workspace signs its custody log with a key of its own: what the key and the time
#: make differ between two runs (the entries themselves must be the same).
RUN_SIGNED = {"prev_hash", "entry_hash", "signature", "key_id", "public_key"}
#: The workspace's signing key (owner-only, 0600), a different one in each workspace.
KEY_FILE = "custodia/clave_firma.pem"
RUN_STAMP = re.compile(r"@\d{8}T\d{6,12}")


def write_geojson(path: Path, features) -> Path:
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": mapping(g), "properties": p} for g, p in features]}
    path.write_text(json.dumps(fc), encoding="utf-8")
    return path


def noisy_jpeg(path: Path, seed: int, **kw) -> Path:
    """A phone photo (EXIF position and time) whose pixels are noise: about 200 kB."""
    write_jpeg(path, **kw)
    exif = Image.open(path).info["exif"]
    pixels = np.random.default_rng(seed).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, "JPEG", exif=exif, quality=90)
    return path


@pytest.fixture(scope="module")
def field_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("kills")
    template = root / "plantilla"
    store = WorkspaceStore.create(template, name="Federación")
    communities = write_geojson(root / "c.geojson", [(ALFA, {"nomcom": "CN Alfa"})])
    import_territories(store, str(communities), kind="community", name_field="nomcom")
    alerts = write_geojson(root / "a.geojson", [
        (g, {"alert_code": f"A{i}", "detected_at": f"2024-04-{10 + i}", "area_ha": 4.9})
        for i, g in enumerate(CLEARINGS)])
    run_monitor(store, MonitorRequest(str(alerts), "mapbiomas", classify=False), SETTINGS)
    opened = open_cases(store, SETTINGS, as_of=date(2024, 6, 1)).opened
    codes = [store.cases.get(c).code for c in opened]
    store.close()

    dcim = root / "DCIM"
    dcim.mkdir()
    for k in range(PHOTOS):
        c = CLEARINGS[k % 3].centroid
        noisy_jpeg(dcim / f"IMG_{k:04d}.jpg", k, lat=c.y + 1e-4, lon=c.x + 1e-4,
                   taken=datetime(2024, 6, 2, 9, k), offset=None)
    photo = noisy_jpeg(root / "v.jpg", 99).read_bytes()
    visits = [
        {"key": "uuid:k1", "case_id": codes[0], "lat": -9.4791, "lon": -74.9791,
         "verdict": "coca_confirmed", "notes": "plantones", "photos": ["v1.jpg", "v2.jpg"]},
        {"key": "uuid:k2", "case_id": codes[1], "lat": -9.4611, "lon": -74.9591,
         "verdict": "not_reached", "notes": "río crecido"},
    ]
    odk = write_central_zip(root / "visitas.zip", visits,
                            {"v1.jpg": photo, "v2.jpg": photo + b"\x00"})
    gpx = gpxpy.gpx.GPX()
    gpx.waypoints.append(gpxpy.gpx.GPXWaypoint(
        latitude=-9.4712345, longitude=-74.9612345, name="campamento",
        description="campamento de madereros", time=datetime(2024, 6, 3, 14, tzinfo=UTC)))
    seg = gpxpy.gpx.GPXTrackSegment([gpxpy.gpx.GPXTrackPoint(
        latitude=-9.479 + k * 1e-3, longitude=-74.979 + k * 1e-3,
        time=datetime(2024, 6, 3, 13, k, tzinfo=UTC)) for k in range(20)])
    trk = gpxpy.gpx.GPXTrack(name="Patrulla")
    trk.segments.append(seg)
    gpx.tracks.append(trk)
    route = root / "ruta.gpx"
    route.write_text(gpx.to_xml(), encoding="utf-8")
    return root, template, [str(dcim), str(odk), str(route)]


def fresh(template: Path, target: Path) -> Path:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(template, target)
    return target


def arguments(ws: Path, paths: list[str]) -> list[str]:
    return ["field", "import", str(ws), *paths, "--by", "ana", "--utc-offset=-05:00", "--json"]


def env() -> dict[str, str]:
    out = dict(os.environ, VIGILANCIA_LANGUAGE="es")
    out.pop("VIGILANCIA_DATABASE_URL", None)
    return out


#: The ``vigilancia`` command, started ahead and waiting for its arguments: Python and the
#: libraries load while the previous round runs, so a kill's random moment falls in the
#: command's own work (reading, keeping files, the transaction), not in Python's start.
WARM = """
import json, sys
import vigilancia.cli, vigilancia.services.field, vigilancia.services.workspace
print("ready", flush=True)
sys.argv = ["vigilancia", *json.loads(sys.stdin.readline())]
vigilancia.cli.main()
"""


class Command:
    """One ``vigilancia`` process (the command's own ``main``), started now, run later."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", WARM], env=env(), text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)

    def start(self, args: list[str]) -> float:
        """Give it its arguments once it is ready; the moment it starts (monotonic s)."""
        assert self.proc.stdout is not None and self.proc.stdin is not None
        ready = self.proc.stdout.readline()
        assert ready == "ready\n", ready + self.proc.stderr.read()[-3000:]
        self.proc.stdin.write(json.dumps(args) + "\n")
        self.proc.stdin.flush()
        return time.monotonic()

    def finish(self) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=600)
        return self.proc.returncode, out, err

    def kill_after(self, started: float, delay: float) -> bool:
        """SIGKILL at ``started + delay`` unless it ended before; whether it was killed."""
        try:
            self.proc.wait(timeout=max(0.0, started + delay - time.monotonic()))
            killed = False
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGKILL)
            killed = True
        self.proc.communicate()
        return killed


def snapshot(ws: Path) -> dict:
    """Every row of every table (without the run's clock times), every file of the
    workspace folder with its bytes' hash and mode."""
    rows = {}
    engine = sa.create_engine(f"sqlite:///{ws / 'vigilancia.sqlite'}")
    with engine.connect() as conn:
        for table in s.metadata.sorted_tables:
            cols = [c for c in table.columns if c.name not in RUN_TIMES | RUN_SIGNED]
            found = conn.execute(sa.select(*cols)).all()
            # a label's source names the case and the run's clock: case:C-0001@20240603T...
            rows[table.name] = sorted(RUN_STAMP.sub("@<run>", repr(tuple(r))) for r in found)
    engine.dispose()
    rows.pop("workspace_meta", None)
    files = {}
    for p in sorted(ws.rglob("*")):
        rel = p.relative_to(ws).as_posix()
        if rel.startswith("vigilancia.sqlite"):
            continue
        mode = stat.S_IMODE(p.lstat().st_mode)
        if rel == KEY_FILE:  # its presence and mode, not its bytes
            files[rel] = ("signing key", oct(mode))
            continue
        files[rel] = (hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None,
                      oct(mode))
    return {"rows": rows, "files": files}


def test_killed_imports_end_as_a_clean_run(field_data):
    root, template, paths = field_data
    clean_ws = fresh(template, root / "limpio")
    first = Command()
    started = first.start(arguments(clean_ws, paths))
    code, out, err = first.finish()
    work_s = time.monotonic() - started
    assert code == 0, err[-3000:]
    result = json.loads(out)
    assert result["observations_added"] == PHOTOS + 2 + 2 and len(result["new_cases"]) == 1
    assert result["verdicts_applied"] == 1 and result["files_kept"] >= PHOTOS + 3
    clean = snapshot(clean_ws)
    assert sum(1 for name in clean["files"] if name.startswith("evidencia/")) >= PHOTOS + 3
    assert all(mode in ("0o700", "0o400") for name, (_h, mode) in clean["files"].items()
               if name != KEY_FILE)
    assert clean["files"][KEY_FILE] == ("signing key", "0o600")
    # one signed intake entry per kept file
    assert len(clean["rows"]["custody_log"]) == result["files_kept"]

    rng = random.Random(14)
    ws = root / "matado"
    killed = partial = leftovers = 0  # partial: kills that left kept files and no row yet
    ahead = Command()
    for round_ in range(KILLS):
        fresh(template, ws)
        victim, ahead = ahead, Command()  # the next round's command loads meanwhile
        delay = rng.uniform(0.0, 1.05) * work_s
        killed += victim.kill_after(victim.start(arguments(ws, paths)), delay)
        leftovers += any(is_temp_name(p.name) for p in ws.rglob("*"))
        evidence = ws / "evidencia"
        if any(evidence.rglob("*.jpg")):
            engine = sa.create_engine(f"sqlite:///{ws / 'vigilancia.sqlite'}")
            with engine.connect() as conn:
                stored = conn.execute(sa.text("SELECT count(*) FROM field_files")).scalar()
            engine.dispose()
            partial += stored == 0
        # run it again, to the end (the same command, in this process)
        again = CliRunner().invoke(app, arguments(ws, paths), env={"VIGILANCIA_LANGUAGE": "es"})
        assert again.exit_code == 0, again.output[-3000:]
        after = snapshot(ws)
        where = f"round {round_}, killed after {delay:.2f} s of {work_s:.2f} s"
        assert after["rows"] == clean["rows"], where
        assert after["files"] == clean["files"], where
        assert not [p for p in ws.rglob("*") if is_temp_name(p.name)], where
    ahead.proc.kill()
    ahead.proc.communicate()
    print(f"{KILLS} rounds, clean import {work_s:.2f} s: {killed} killed, {partial} while "
          f"files were kept, {leftovers} left a temporary file")
    assert killed >= KILLS * 0.8, killed
    # the kills landed while files were being kept, not only before or after
    assert partial >= KILLS // 10, partial


def test_the_snapshot_sees_a_difference(field_data):
    """The comparison above is not blind: a run of fewer files differs from the clean one."""
    root, template, paths = field_data
    a = fresh(template, root / "a")
    b = fresh(template, root / "b")
    for ws, given in ((a, paths), (b, paths[1:])):
        run = Command()
        run.start(arguments(ws, given))
        code, _out, err = run.finish()
        assert code == 0, err[-3000:]
    one, other = snapshot(a), snapshot(b)
    assert one["rows"]["field_observations"] != other["rows"]["field_observations"]
    assert one["files"] != other["files"]
