"""``/api/monitor-runs``: start a monitoring run on uploaded alert files, and follow it.

The run goes on in the server after the answer (:mod:`vigilancia.services.jobs`); the
page polls ``GET /api/monitor-runs/{run_id}`` for its progress and its result.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, UploadFile
from starlette.responses import Response

from vigilancia.services.jobs import MonitorOptions, monitor_run, start_monitor_run
from vigilancia.services.transfers import Upload
from vigilancia.web.deps import Ctx, context, respond

router = APIRouter(prefix="/api", tags=["monitoring"])

RunId = Annotated[str, Path(pattern=r"^[0-9T]{15}-[0-9a-f]{8}$", max_length=40)]


@router.post("/monitor-runs", status_code=202, summary="Start a monitoring run")
def start(
    files: Annotated[list[UploadFile] | None, File(
        description="Alert files: GeoTIFF tiles (.tif) of GFW, RADD, GLAD or Hansen (several "
        "tiles: one mosaic), or vector alerts (.geojson, .gpkg, .csv, .parquet, .zip).")
    ] = None,
    server_files: Annotated[list[str] | None, Form(
        description="Alert files (or folders of tiles) of the server's alert folder "
        "(VIGILANCIA_ALERTS_DIR), by their names relative to it, read in place.")] = None,
    product: Annotated[str, Form(max_length=32, description="auto (recognised from the "
                                 "file), gfw, radd-gee, glad-l-gee, glad-s2, hansen or "
                                 "mapbiomas.")] = "auto",
    since: Annotated[dt.date | None, Form(description="First alert date kept.")] = None,
    until: Annotated[dt.date | None, Form(description="Last alert date kept.")] = None,
    min_confidence: Annotated[str, Form(max_length=16, description="low, high or "
                                        "highest.")] = "low",
    classify: Annotated[bool, Form(description="Predict the likely driver of the new "
                                   "clearings.")] = True,
    ctx: Ctx = Depends(context),
) -> Response:
    """Keeps the uploaded files in the workspace (files of the server's alert folder are
    read in place) and starts ``monitor`` on them in the background
    (one run at a time per workspace: 409 while another runs); answers the run (202),
    whose address is in ``Location``. Send the session's ``X-CSRF-Token`` header."""
    run = start_monitor_run(
        ctx.store, ctx.settings, [Upload(f.filename or "alertas", f.file) for f in files or ()],
        MonitorOptions(product, since, until, min_confidence, classify),
        actor=ctx.actor, address=ctx.address, server_files=server_files or ())
    return respond(run, status=202, headers={"Location": f"/api/monitor-runs/{run.id}"})


@router.get("/monitor-runs/{run_id}", summary="A monitoring run: progress and result")
def show(run_id: RunId, ctx: Ctx = Depends(context)) -> Response:
    """The run's status (running, finished, failed, interrupted), its progress (stage,
    done, total) and, once finished, its summary and results."""
    return respond(monitor_run(ctx.store, run_id))
