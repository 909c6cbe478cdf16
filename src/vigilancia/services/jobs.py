"""Background jobs of the web app: a monitoring run started from a browser.

A browser cannot wait minutes for one answer, so :func:`start_monitor_run` checks the
request, keeps the uploaded alert files, records the start in the audit log and
returns at once; the monitor itself (:func:`vigilancia.services.monitor.run_monitor`,
the same as ``vigilancia monitor``) runs in a worker thread. Its
:class:`~vigilancia.progress.Progress` is kept with the job, so that
:func:`monitor_run` (the page polls it) tells how far it is, and a page reloaded
finds the job again (:func:`latest_monitor_run`).

- **One job at a time per workspace**: a second start while one runs is refused
  (:class:`~vigilancia.errors.ConflictError`, HTTP 409) and names who started the
  running one.
- **State**: live jobs are held by the server process (the last
  :data:`KEEP_JOBS` of each workspace). The audit log keeps the start and the end of
  each (``monitor.start``, ``monitor.finish``, ``monitor.fail``, target
  ``monitor:<id>``): after a server restart a job is read back from there, finished
  with its summary, failed with its reason, or *interrupted* when it never ended (the
  monitor writes each batch in one transaction, so an interrupted run left nothing
  half-written: starting it again finishes the work).
- **Files**: the uploads are written owner-only to ``alertas/<time>-<account>/`` in
  the workspace, which the batches then name as their source; when the run adds no
  new batch (it failed, or the files were already ingested) the copies are removed.
  Several ``.tif`` tiles of one upload are read as one mosaic; each vector file
  (``.geojson``, ``.gpkg``, ``.csv``...) is its own batch.
- **Files on the server**: where ``settings.alerts_dir`` (``VIGILANCIA_ALERTS_DIR``)
  names a folder, a run may also read its files (or folders of tiles) in place, named
  relative to it (:func:`server_alert_files` lists them); a name that is absolute,
  climbs out with ``..`` or leads outside through a link is refused. Large GFW tiles
  then need no upload, and nothing of that folder is ever moved or removed.
- Texts name the files by the names they were uploaded with (or relative to the
  server's folder), never by a path of the server.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from contextvars import copy_context
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from vigilancia.config import Settings
from vigilancia.domain.alerts import ALL_PRODUCTS, Confidence
from vigilancia.errors import ConflictError, InputError, NotFoundError, VigilanciaError
from vigilancia.i18n import _
from vigilancia.io.store import WorkspaceStore
from vigilancia.services.monitor import (
    VECTOR_SUFFIXES,
    MonitorRequest,
    MonitorResult,
    run_monitor,
)
from vigilancia.services.texts.drivers import driver_name
from vigilancia.services.transfers import Upload, owner_only_dir, plain_text, save_uploads

__all__ = [
    "ALERTS_DIR",
    "KEEP_JOBS",
    "MonitorOptions",
    "MonitorRun",
    "MonitoringPage",
    "ServerAlertFile",
    "latest_monitor_run",
    "monitor_run",
    "monitoring_page",
    "server_alert_file",
    "server_alert_files",
    "start_monitor_run",
    "wait_for_run",
]

log = logging.getLogger("vigilancia.web")

#: Folder of the workspace where uploaded alert files are kept (they are the batches'
#: sources).
ALERTS_DIR = "alertas"
#: Jobs remembered per workspace by the server (older ones are read from the audit log).
KEEP_JOBS = 20
RASTER_SUFFIXES = (".tif", ".tiff")

RUNNING, FINISHED, FAILED, INTERRUPTED = "running", "finished", "failed", "interrupted"


@dataclass(frozen=True)
class MonitorOptions:
    """How to read the alert files: the product (``auto``: recognised from each file),
    the dates kept (first, last) and the lowest confidence, and whether to predict
    the likely driver of the new clearings."""

    product: str = "auto"
    since: date | None = None
    until: date | None = None
    min_confidence: str = "low"
    classify: bool = True

    def request(self, source: str) -> MonitorRequest:
        """The :class:`MonitorRequest` of one source (checks every option)."""
        if self.product != "auto" and self.product not in ALL_PRODUCTS:
            raise InputError(_("unknown product {p}", p=self.product), inputs="product",
                             hint=_("choose auto or one of: {names}",
                                    names=", ".join(ALL_PRODUCTS)))
        try:
            confidence = Confidence.parse(self.min_confidence)
        except ValueError:
            raise InputError(_("The lowest confidence must be low, high or highest"),
                             inputs="min_confidence") from None
        return MonitorRequest(source, self.product, self.since, self.until, confidence,
                              classify=self.classify)


@dataclass(frozen=True)
class MonitorRun:
    """One monitoring run as a page shows it.

    ``status``: running, finished, failed or interrupted. While it runs, ``stage``
    (an English message id, translated when shown), ``done`` and ``total`` say how far
    the current stage is, and ``part`` / ``parts`` which source of the upload. Once
    finished, ``summary`` (clearings, area in ha, batches new and already present,
    clearings per likely driver) and, while the server that ran it still runs,
    ``results`` (each source's :class:`~vigilancia.services.monitor.MonitorResult`).
    """

    id: str
    status: str
    actor: str
    started: datetime
    files: tuple[str, ...]
    options: MonitorOptions
    finished: datetime | None = None
    stage: str | None = None
    done: int = 0
    total: int | None = None
    part: int = 0
    parts: int = 1
    summary: dict[str, Any] = field(default_factory=dict)
    results: tuple[MonitorResult, ...] = ()
    error: str | None = None

    @property
    def running(self) -> bool:
        return self.status == RUNNING

    def to_dict(self) -> dict[str, Any]:
        """JSON form, with the stage and the status worded in the request's language."""
        words = {RUNNING: _("running"), FINISHED: _("finished"), FAILED: _("failed"),
                 INTERRUPTED: _("interrupted")}
        fraction = (min(1.0, self.done / self.total) if self.total else None)
        return {
            "id": self.id,
            "status": self.status,
            "status_text": words[self.status],
            "actor": self.actor,
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat() if self.finished else None,
            "files": list(self.files),
            "options": {"product": self.options.product,
                        "since": self.options.since, "until": self.options.until,
                        "min_confidence": self.options.min_confidence,
                        "classify": self.options.classify},
            "progress": {"stage": self.stage,
                         "stage_text": _(self.stage) if self.stage else None,
                         "done": self.done, "total": self.total, "fraction": fraction,
                         "part": self.part, "parts": self.parts},
            "summary": self.summary or None,
            "driver_names": {d: driver_name(d) for d in (self.summary or {}).get("drivers", {})},
            "results": list(self.results),
            "error": self.error,
        }


class _Job:
    """A job's mutable state, shared by its worker and the requests that read it."""

    def __init__(self, run: MonitorRun) -> None:
        self._lock = threading.Lock()
        self._run = run

    def snapshot(self) -> MonitorRun:
        with self._lock:
            return self._run

    def update(self, **changes: Any) -> None:
        with self._lock:
            self._run = replace(self._run, **changes)

    def tick(self, stage: str, done: int, total: int | None, /) -> None:
        self.update(stage=stage, done=int(done), total=None if total is None else int(total))


class _Workspace:
    """The jobs of one workspace in this server process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.jobs: OrderedDict[str, _Job] = OrderedDict()
        self.running: _Job | None = None
        self.threads: dict[str, threading.Thread] = {}


_WORKSPACES: dict[str, _Workspace] = {}
_REGISTRY_LOCK = threading.Lock()


def _workspace(store: WorkspaceStore) -> _Workspace:
    key = str(Path(store.dir).resolve())
    with _REGISTRY_LOCK:
        return _WORKSPACES.setdefault(key, _Workspace())


def start_monitor_run(store: WorkspaceStore, settings: Settings, uploads: Iterable[Upload],
                      options: MonitorOptions, *, actor: str, address: str | None = None,
                      server_files: Sequence[str] = ()) -> MonitorRun:
    """Keep the uploaded alert files and start the monitor on them, and on the
    ``server_files`` named (relative to ``settings.alerts_dir``, read in place), in a
    worker thread (see the module text); the job as it starts.

    Raises :class:`~vigilancia.errors.ConflictError` while another run of the workspace
    is going on, and :class:`~vigilancia.errors.InputError` for a wrong option, no
    file, a file that is no alert product, or a server file outside the folder
    (nothing is kept then).
    """
    items = list(uploads)
    options.request("check")  # a wrong option fails before any file is written
    if not items and not server_files:
        raise InputError(_("No alert files to read"), inputs="files",
                         hint=_("choose one or more files: GeoTIFF tiles (.tif) or vector "
                                "alerts (.geojson, .gpkg, .csv, .parquet, .zip)"))
    for item in items:
        _check_suffix(Path(item.name))
    in_place = [server_alert_file(settings, name) for name in server_files]
    ws = _workspace(store)
    started = datetime.now(UTC)
    run_id = started.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(4)
    job = _Job(MonitorRun(run_id, RUNNING, actor, started, (), options))
    with ws.lock:  # the workspace's one slot, taken before the files are copied
        if ws.running is not None:
            other = ws.running.snapshot()
            raise ConflictError(
                _("A monitoring run is already going on (started by {actor} at {time})",
                  actor=other.actor, time=other.started.strftime("%H:%M UTC")),
                hint=_("wait until it ends, then start this one"))
        ws.running = job
        ws.jobs[run_id] = job
    folder = store.dir / ALERTS_DIR / run_id
    try:
        saved: list[tuple[str, Path]] = []
        if items:
            owner_only_dir(store.dir / ALERTS_DIR)
            saved = save_uploads(items, folder)
        sources = _sources(folder, saved) + [path for _name, path in in_place]
        names = tuple(n for n, _p in saved) + tuple(n for n, _p in in_place)
        job.update(files=names, parts=len(sources))
        with store.transaction() as conn:
            store.audit.add(conn, actor=actor, action="monitor.start", at=started,
                            target=f"monitor:{run_id}", address=address,
                            detail={"files": list(names),
                                    "server_files": [n for n, _p in in_place],
                                    **_options(options)})
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        with ws.lock:
            ws.running = None
            ws.jobs.pop(run_id, None)
        raise
    thread = threading.Thread(
        target=copy_context().run,  # the worker speaks the starter's language
        args=(_work, store, settings, ws, job, sources, folder),
        name=f"vigilancia-monitor-{run_id}", daemon=True)
    with ws.lock:
        while len(ws.jobs) > KEEP_JOBS:
            ws.jobs.popitem(last=False)
        ws.threads[run_id] = thread
    thread.start()
    return job.snapshot()


def _check_suffix(path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix not in RASTER_SUFFIXES and suffix not in VECTOR_SUFFIXES:
        raise InputError(_("{name} is not an alert file", name=path.name), inputs="files",
                         hint=_("send GeoTIFF tiles (.tif) or vector alerts (.geojson, "
                                ".gpkg, .csv, .parquet, .zip)"))


# ------------------------------------------------------------ files on the server


@dataclass(frozen=True)
class ServerAlertFile:
    """An alert file, or a folder of GeoTIFF tiles, in ``settings.alerts_dir``: its name
    relative to that folder (``/`` between parts) and its size in bytes (all its tiles)."""

    name: str
    bytes: int
    folder: bool

    def to_dict(self) -> dict[str, Any]:
        """``name``, ``bytes``, ``folder``."""
        return {"name": self.name, "bytes": self.bytes, "folder": self.folder}


def server_alert_file(settings: Settings, name: str) -> tuple[str, Path]:
    """The file (or folder of tiles) ``name`` of ``settings.alerts_dir``: its name and its
    path. Refuses, with :class:`~vigilancia.errors.InputError`, when no folder is set, and
    any name that is absolute, climbs out (``..``), or leads outside the folder through a
    link; :class:`~vigilancia.errors.NotFoundError` when there is nothing by that name."""
    if settings.alerts_dir is None:
        raise InputError(_("This server reads no alert files in place"), inputs="server_files",
                         hint=_("upload the files, or ask whoever runs the server to set "
                                "VIGILANCIA_ALERTS_DIR"))
    root = Path(settings.alerts_dir).expanduser().resolve()
    rel = PurePosixPath(str(name).replace("\\", "/"))
    if not str(name).strip() or rel.is_absolute() or ".." in rel.parts or "\x00" in str(name):
        raise InputError(_("{name} is not a name of the server's alert folder", name=name),
                         inputs="server_files",
                         hint=_("choose one of the files the page lists"))
    path = (root / rel).resolve()
    if not path.is_relative_to(root) or path == root:
        raise InputError(_("{name} is not a name of the server's alert folder", name=name),
                         inputs="server_files",
                         hint=_("choose one of the files the page lists"))
    if not path.exists():
        raise NotFoundError(_("There is no {name} in the server's alert folder", name=name),
                            hint=_("choose one of the files the page lists"))
    if path.is_file():
        _check_suffix(path)
    elif not any(p.suffix.lower() in RASTER_SUFFIXES for p in path.iterdir()):
        raise InputError(_("The folder {name} holds no GeoTIFF tiles (.tif)", name=name),
                         inputs="server_files")
    return rel.as_posix(), path


#: Most entries listed of the server's alert folder.
MAX_LISTED = 500


def server_alert_files(settings: Settings) -> tuple[ServerAlertFile, ...]:
    """What the monitoring page offers of ``settings.alerts_dir`` (none when unset): its
    alert files, and its folders of GeoTIFF tiles, one level down at most, by name."""
    if settings.alerts_dir is None:
        return ()
    root = Path(settings.alerts_dir).expanduser().resolve()
    if not root.is_dir():
        return ()
    found: list[ServerAlertFile] = []

    def visit(folder: Path, depth: int) -> None:
        tiles = 0
        for p in sorted(folder.iterdir()):
            if p.name.startswith(".") or not p.resolve().is_relative_to(root):
                continue
            if p.is_dir() and depth < 1:
                visit(p, depth + 1)
            elif p.is_file() and (p.suffix.lower() in RASTER_SUFFIXES
                                  or p.suffix.lower() in VECTOR_SUFFIXES):
                found.append(ServerAlertFile(p.relative_to(root).as_posix(), p.stat().st_size,
                                             False))
                tiles += p.suffix.lower() in RASTER_SUFFIXES
        if folder != root and tiles > 1:
            size = sum(p.stat().st_size for p in folder.iterdir()
                       if p.is_file() and p.suffix.lower() in RASTER_SUFFIXES)
            found.append(ServerAlertFile(folder.relative_to(root).as_posix(), size, True))

    try:
        visit(root, 0)
    except OSError:
        log.warning("the alert folder could not be listed", exc_info=True)
    return tuple(sorted(found, key=lambda f: f.name)[:MAX_LISTED])


@dataclass(frozen=True)
class MonitoringPage:
    """What the monitoring page shows on arrival: the newest run, and the files of the
    server's alert folder (when the server has one)."""

    run: MonitorRun | None
    server_files: tuple[ServerAlertFile, ...]
    server_folder: bool

    def to_dict(self) -> dict[str, Any]:
        """``run``, ``server_files`` and ``server_folder``."""
        return {"run": self.run, "server_files": list(self.server_files),
                "server_folder": self.server_folder}


def monitoring_page(store: WorkspaceStore, settings: Settings) -> MonitoringPage:
    """The newest run of the workspace and the server's alert files."""
    return MonitoringPage(latest_monitor_run(store), server_alert_files(settings),
                          settings.alerts_dir is not None)


def _options(options: MonitorOptions) -> dict[str, Any]:
    return {"product": options.product,
            "since": options.since.isoformat() if options.since else None,
            "until": options.until.isoformat() if options.until else None,
            "min_confidence": options.min_confidence, "classify": options.classify}


def _sources(folder: Path, saved: Sequence[tuple[str, Path]]) -> list[Path]:
    """What the monitor reads: the tiles together (one mosaic, their own folder), each
    vector file on its own."""
    rasters = [p for _n, p in saved if p.suffix.lower() in RASTER_SUFFIXES]
    vectors = [p for _n, p in saved if p.suffix.lower() not in RASTER_SUFFIXES]
    sources: list[Path] = []
    if len(rasters) == 1:
        sources.append(rasters[0])
    elif rasters:
        tiles = folder / "teselas"
        owner_only_dir(tiles)
        for p in rasters:
            target = tiles / p.name
            if target.exists():  # the same name twice (kept in folders of their own)
                target = tiles / f"{p.parent.name}-{p.name}"
            p.rename(target)
        sources.append(tiles)
    return sources + vectors


def _work(store: WorkspaceStore, settings: Settings, ws: _Workspace, job: _Job,
          sources: list[Path], folder: Path) -> None:
    run = job.snapshot()
    results: list[MonitorResult] = []
    try:
        for i, source in enumerate(sources):
            job.update(part=i, stage=None, done=0, total=None)
            results.append(run_monitor(store, run.options.request(str(source)), settings,
                                       job.tick))
        summary = _summary(results)
        ended = datetime.now(UTC)
        with store.transaction() as conn:
            store.audit.add(conn, actor=run.actor, action="monitor.finish", at=ended,
                            target=f"monitor:{run.id}", detail=summary)
        job.update(status=FINISHED, finished=ended, summary=summary, results=tuple(results),
                   stage=None, part=len(sources) - 1)
    except BaseException as exc:  # the job records every failure, whatever it is
        if isinstance(exc, VigilanciaError):
            text = plain_text(exc.user_text(), folder)
            if settings.alerts_dir is not None:  # files read in place: named from there
                text = plain_text(text, Path(settings.alerts_dir).expanduser().resolve())
        else:
            log.exception("monitoring run %s failed", run.id)
            text = _("Something failed on the server; nothing was changed by this run")
        ended = datetime.now(UTC)
        job.update(status=FAILED, finished=ended, error=text)
        try:
            with store.transaction() as conn:
                store.audit.add(conn, actor=run.actor, action="monitor.fail", at=ended,
                                target=f"monitor:{run.id}", detail={"error": text})
        except Exception:  # the store is gone (the server stops): it reads as interrupted
            log.warning("the end of monitoring run %s could not be recorded", run.id)
    finally:
        if not any(not b.skipped for r in results for b in r.batches):
            shutil.rmtree(folder, ignore_errors=True)  # nothing new came from these copies
        with ws.lock:
            if ws.running is job:
                ws.running = None
            ws.threads.pop(run.id, None)


def _summary(results: Sequence[MonitorResult]) -> dict[str, Any]:
    batches = [b for r in results for b in r.batches]
    drivers: dict[str, int] = {}
    for r in results:
        for name, n in r.drivers.items():
            drivers[name] = drivers.get(name, 0) + n
    return {
        "clearings": sum(b.clearings for b in batches if not b.skipped),
        "area_ha": round(sum(b.area_ha for b in batches if not b.skipped), 4),
        "batches_new": sum(1 for b in batches if not b.skipped),
        "batches_present": sum(1 for b in batches if b.skipped),
        "products": sorted({b.product for b in batches}),
        "drivers": drivers,
        "territories": len({t.territory_id for r in results for t in r.territories}),
    }


def monitor_run(store: WorkspaceStore, run_id: str) -> MonitorRun:
    """The job ``run_id`` of the workspace: live, or read back from the audit log."""
    job = _workspace(store).jobs.get(run_id)
    if job is not None:
        return job.snapshot()
    found = _from_log(store, run_id)
    if found is None:
        raise NotFoundError(_("There is no monitoring run {id}", id=run_id),
                            hint=_("start a run on the monitoring page"))
    return found


def latest_monitor_run(store: WorkspaceStore) -> MonitorRun | None:
    """The newest monitoring run of the workspace (the running one first), or None."""
    ws = _workspace(store)
    with ws.lock:
        job = ws.running or (next(reversed(ws.jobs.values())) if ws.jobs else None)
    if job is not None:
        return job.snapshot()
    newest = store.audit.find(action_prefix="monitor.start", limit=1)
    if not newest or not newest[0].target:
        return None
    return _from_log(store, newest[0].target.removeprefix("monitor:"))


def _from_log(store: WorkspaceStore, run_id: str) -> MonitorRun | None:
    entries = store.audit.find(target=f"monitor:{run_id}", action_prefix="monitor.", limit=10)
    start = next((e for e in entries if e.action == "monitor.start"), None)
    if start is None:
        return None
    detail = start.detail or {}
    opts = MonitorOptions(
        product=str(detail.get("product", "auto")),
        since=date.fromisoformat(detail["since"]) if detail.get("since") else None,
        until=date.fromisoformat(detail["until"]) if detail.get("until") else None,
        min_confidence=str(detail.get("min_confidence", "low")),
        classify=bool(detail.get("classify", True)))
    run = MonitorRun(run_id, INTERRUPTED, start.actor, start.at,
                     tuple(str(f) for f in detail.get("files", ())), opts)
    end = next((e for e in entries if e.action in ("monitor.finish", "monitor.fail")), None)
    if end is None:  # started by a server that stopped before the run ended
        return run
    if end.action == "monitor.finish":
        return replace(run, status=FINISHED, finished=end.at, summary=dict(end.detail or {}))
    return replace(run, status=FAILED, finished=end.at,
                   error=str((end.detail or {}).get("error", "")))


def wait_for_run(store: WorkspaceStore, run_id: str, timeout: float | None = None) -> MonitorRun:
    """Block until the job ``run_id`` of this server ends (for the CLI and tests); the job
    as it ended (still running when ``timeout`` seconds passed first)."""
    ws = _workspace(store)
    with ws.lock:
        thread = ws.threads.get(run_id)
    if thread is not None:
        thread.join(timeout)
    return monitor_run(store, run_id)
