"""Monitoring runs from the web: upload alert files, the run in the background, its
progress and result, one run at a time, the audit log, and what a restart leaves."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest
from alert_tiles import write_gfw_tile
from web_helpers import login

from vigilancia.config import Settings
from vigilancia.domain.access import Role
from vigilancia.domain.territories import TerritoryKind
from vigilancia.results import to_json
from vigilancia.services import jobs
from vigilancia.services.workspace import open_workspace
from vigilancia.web import create_app


@pytest.fixture(scope="module")
def tiles(web_ws: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    with open_workspace(web_ws, Settings()) as store:
        community = store.territories.list([TerritoryKind.COMMUNITY])[0]
    p = community.geometry.representative_point()
    folder = tmp_path_factory.mktemp("alertas")
    broken = folder / "roto.tif"
    broken.write_bytes(b"II*\x00" + b"\x00" * 64)
    return {"gfw": write_gfw_tile(folder / "gfw_tile.tif", (p.x, p.y)),
            "other": write_gfw_tile(folder / "otra.tif", (p.x, p.y), seed=11),
            "broken": broken}


def upload(session, *paths: Path, **form):
    files = [("files", (p.name, p.read_bytes(), "image/tiff")) for p in paths]
    return session.client.post("/api/monitor-runs", files=files, data=form,
                               headers=session.headers)


def audit(web_ws: Path, run_id: str) -> list[str]:
    with open_workspace(web_ws, Settings()) as store:
        return [e.action for e in store.audit.find(target=f"monitor:{run_id}")]


def finished(app, run_id: str) -> dict:
    store = app.state.vigilancia.store
    run = jobs.wait_for_run(store, run_id, timeout=120)
    assert not run.running
    return json.loads(to_json(run))


@pytest.fixture
def held(monkeypatch):
    """Runs wait at their start (after one progress report) until the test lets them go."""
    gate = threading.Event()
    real = jobs.run_monitor

    def waiting(store, request, settings, progress=None):
        progress("monitor", 5, 10)
        assert gate.wait(60)
        return real(store, request, settings, progress)

    monkeypatch.setattr(jobs, "run_monitor", waiting)
    yield gate
    gate.set()


def test_a_run_uploads_its_files_runs_in_the_background_and_is_recorded(app, sessions, tiles,
                                                                         web_ws, held):
    coordinator = sessions[Role.COORDINATOR]
    r = upload(coordinator, tiles["gfw"], since="2025-01-01", min_confidence="high")
    assert r.status_code == 202, r.text
    run = r.json()
    assert r.headers["location"] == f"/api/monitor-runs/{run['id']}"
    assert run["status"] == "running" and run["files"] == ["gfw_tile.tif"]
    assert run["options"]["since"] == "2025-01-01"
    # its progress, as the page polls it (Spanish by default)
    shown = coordinator.client.get(f"/api/monitor-runs/{run['id']}").json()
    assert shown["status_text"] == "en curso"
    assert shown["progress"]["stage"] == "monitor"
    assert shown["progress"]["stage_text"] == "monitoreo"
    assert shown["progress"]["fraction"] == 0.5
    # one run at a time: another start is refused, whoever asks, and nothing is kept
    analyst = sessions[Role.ANALYST]
    before = sorted((web_ws / jobs.ALERTS_DIR).iterdir())
    second = upload(analyst, tiles["other"])
    assert second.status_code == 409
    assert "coordinator" in second.json()["error"]["message"]
    assert "en curso" in second.json()["error"]["message"]
    assert sorted((web_ws / jobs.ALERTS_DIR).iterdir()) == before
    held.set()
    done = finished(app, run["id"])
    assert done["status"] == "finished", done
    summary = done["summary"]
    assert summary["clearings"] > 0 and summary["batches_new"] == 1
    assert summary["territories"] >= 1 and sum(summary["drivers"].values()) == summary["clearings"]
    assert set(done["driver_names"]) == set(summary["drivers"])
    assert done["results"][0]["batches"][0]["product"] == "gfw"
    # the file is kept as the batch's source, owner-only, in the workspace
    kept = web_ws / jobs.ALERTS_DIR / run["id"] / "gfw_tile.tif"
    assert kept.read_bytes() == tiles["gfw"].read_bytes()
    assert kept.stat().st_mode & 0o077 == 0
    assert audit(web_ws, run["id"]) == ["monitor.finish", "monitor.start"]
    # the clearings are stored, placed on the territories
    with open_workspace(web_ws, Settings()) as store:
        placed = store.clearings.by_territory([summary_batch(done)])
    assert sum(t.clearings for t in placed) >= 1


def summary_batch(run: dict) -> int:
    return int(run["results"][0]["batches"][0]["batch_id"])


def test_the_same_files_again_add_nothing_and_leave_no_copy(app, sessions, tiles, web_ws):
    coordinator = sessions[Role.COORDINATOR]
    r = upload(coordinator, tiles["gfw"], since="2025-01-01", min_confidence="high")
    assert r.status_code == 202, r.text
    done = finished(app, r.json()["id"])
    assert done["status"] == "finished"
    assert done["summary"]["batches_present"] == 1 and done["summary"]["clearings"] == 0
    assert not (web_ws / jobs.ALERTS_DIR / done["id"]).exists()


def test_a_broken_file_fails_the_run_with_its_name_and_no_server_path(app, sessions, tiles,
                                                                      web_ws):
    admin = sessions[Role.ADMIN]
    r = upload(admin, tiles["broken"])
    assert r.status_code == 202
    done = finished(app, r.json()["id"])
    assert done["status"] == "failed"
    assert "roto.tif" in done["error"] and str(web_ws) not in done["error"]
    assert not (web_ws / jobs.ALERTS_DIR / done["id"]).exists()
    assert audit(web_ws, done["id"]) == ["monitor.fail", "monitor.start"]
    page = admin.client.get("/monitoreo")
    assert page.status_code == 200 and done["id"] in page.text


def test_wrong_requests_are_refused_before_anything_runs(sessions, tiles, web_ws, tmp_path):
    coordinator = sessions[Role.COORDINATOR]
    notes = tmp_path / "notas.txt"
    notes.write_text("no es un archivo de alertas")
    r = upload(coordinator, notes)
    assert r.status_code == 400 and "notas.txt" in r.json()["error"]["message"]
    r = upload(coordinator, tiles["gfw"], product="modis")
    assert r.status_code == 400 and r.json()["error"]["inputs"] == ["product"]
    r = upload(coordinator, tiles["gfw"], since="2025-02-01", until="2025-01-01")
    assert r.status_code == 400
    r = upload(coordinator, tiles["gfw"], min_confidence="enorme")
    assert r.status_code == 400 and r.json()["error"]["inputs"] == ["min_confidence"]
    r = coordinator.client.post("/api/monitor-runs", headers=coordinator.headers)
    assert r.status_code == 400 and r.json()["error"]["inputs"] == ["files"]
    # without the session's token, nothing happens
    r = coordinator.client.post("/api/monitor-runs", files=[("files", ("a.tif", b"x"))])
    assert r.status_code == 403
    assert coordinator.client.get("/api/monitor-runs/20990101T000000-00000000").status_code == 404


def test_a_start_that_fails_while_keeping_its_files_frees_the_workspace(app, sessions, tiles,
                                                                       web_ws, monkeypatch):
    from vigilancia.errors import StoreError

    def full_disk(items, folder):
        folder.mkdir(parents=True)
        (folder / "medio.tif").write_bytes(b"II*")
        raise StoreError("the disk is full")

    monkeypatch.setattr(jobs, "save_uploads", full_disk)
    coordinator = sessions[Role.COORDINATOR]
    assert upload(coordinator, tiles["gfw"]).status_code == 503
    leftovers = [p for p in (web_ws / jobs.ALERTS_DIR).iterdir() if (p / "medio.tif").exists()]
    assert leftovers == []
    monkeypatch.undo()
    r = upload(coordinator, tiles["gfw"])  # no run holds the workspace
    assert r.status_code == 202, r.text
    assert finished(app, r.json()["id"])["status"] == "finished"


@pytest.mark.parametrize("role,allowed", [(Role.ADMIN, True), (Role.COORDINATOR, True),
                                          (Role.ANALYST, True), (Role.MONITOR, False),
                                          (Role.VIEWER, False)], ids=lambda v: str(v))
def test_who_may_run_the_monitor(sessions, role, allowed):
    s = sessions[role]
    page = s.client.get("/monitoreo", follow_redirects=False)
    assert page.status_code == (200 if allowed else 403)
    r = s.client.post("/api/monitor-runs", headers=s.headers)
    assert (r.status_code == 403) is (not allowed)


def test_after_a_restart_runs_are_read_back_from_the_audit_log(app, sessions, tiles, web_ws,
                                                               monkeypatch):
    coordinator = sessions[Role.COORDINATOR]
    r = upload(coordinator, tiles["gfw"])
    done = finished(app, r.json()["id"])
    store = app.state.vigilancia.store
    from datetime import UTC, datetime

    with store.transaction() as conn:  # a run whose server stopped before it ended
        store.audit.add(conn, actor="coordinator", action="monitor.start",
                        at=datetime.now(UTC), target="monitor:20260101T000000-0badcafe",
                        detail={"files": ["grande.tif"], "product": "gfw"})
    monkeypatch.setattr(jobs, "_WORKSPACES", {})  # a new server process: no job in memory
    again = coordinator.client.get(f"/api/monitor-runs/{done['id']}").json()
    assert again["status"] == "finished" and again["summary"] == done["summary"]
    lost = coordinator.client.get("/api/monitor-runs/20260101T000000-0badcafe").json()
    assert lost["status"] == "interrupted" and lost["files"] == ["grande.tif"]
    page = coordinator.client.get("/monitoreo")
    assert "20260101T000000-0badcafe" in page.text  # the newest run, shown on arrival


def test_the_pages_draw_only_what_a_role_may_do(sessions):
    coordinator = sessions[Role.COORDINATOR].client.get("/patrullas")
    monitor = sessions[Role.MONITOR].client.get("/patrullas")
    assert coordinator.status_code == monitor.status_code == 200
    assert 'id="preview"' in coordinator.text and 'id="save"' in coordinator.text
    assert 'id="preview"' not in monitor.text and 'id="download"' in monitor.text
    assert sessions[Role.ANALYST].client.get("/patrullas").status_code == 403
    assert sessions[Role.VIEWER].client.get("/campo").status_code == 403
    field = sessions[Role.MONITOR].client.get("/campo")
    assert field.status_code == 200 and 'type="file"' in field.text
    # Spanish by default, English on request
    assert "Planificación de patrullas" in coordinator.text
    english = login(sessions[Role.COORDINATOR].client.app, Role.COORDINATOR)
    english.client.cookies.set("vigilancia_lang", "en")
    assert "Patrol planning" in english.client.get("/patrullas").text
    for text in (coordinator.text, field.text):
        assert not re.search(r"(src|href)=[\"']?(https?:)?//", text)


def test_files_of_the_servers_alert_folder_are_read_in_place_and_never_outside_it(
        web_ws, tiles, tmp_path, sessions):
    import shutil

    folder = tmp_path / "descargas_gfw"
    (folder / "teselas").mkdir(parents=True)
    shutil.copy(tiles["other"], folder / "otra.tif")
    shutil.copy(tiles["gfw"], folder / "teselas" / "a.tif")
    shutil.copy(tiles["other"], folder / "teselas" / "b.tif")
    secret = tmp_path / "secreto.tif"
    secret.write_bytes(tiles["other"].read_bytes())
    (folder / "fuera.tif").symlink_to(secret)
    app = create_app(Settings(alerts_dir=folder), web_ws, prepare_map=False)
    admin = login(app, Role.ADMIN)
    page = admin.client.get("/monitoreo").text
    assert 'value="otra.tif"' in page and 'value="teselas"' in page
    assert "fuera.tif" not in page and "secreto" not in page

    def start(*names):
        return admin.client.post("/api/monitor-runs", data={"server_files": list(names)},
                                 headers=admin.headers)

    for name in ("../secreto.tif", str(secret), "fuera.tif", "teselas/../../secreto.tif"):
        r = start(name)
        assert r.status_code == 400, (name, r.text)
        assert r.json()["error"]["inputs"] == ["server_files"]
        assert name == str(secret) or str(tmp_path) not in r.text  # the folder is not told
    assert start("no_existe.tif").status_code == 404
    r = start("otra.tif", "teselas")
    assert r.status_code == 202, r.text
    done = finished(app, r.json()["id"])
    assert done["status"] == "finished", done
    assert done["files"] == ["otra.tif", "teselas"] and done["progress"]["parts"] == 2
    assert len(done["results"]) == 2  # each source its own batch
    assert (folder / "otra.tif").read_bytes() == tiles["other"].read_bytes()
    assert sorted(p.name for p in (folder / "teselas").iterdir()) == ["a.tif", "b.tif"]
    # a server with no alert folder reads nothing in place, and says how to change that
    plain = sessions[Role.ADMIN]
    r = plain.client.post("/api/monitor-runs", data={"server_files": ["otra.tif"]},
                          headers=plain.headers)
    assert r.status_code == 400 and "VIGILANCIA_ALERTS_DIR" in r.json()["error"]["hint"]
    assert "server-files" not in plain.client.get("/monitoreo").text
