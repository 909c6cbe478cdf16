"""``/api/patrol-plans`` and the package download: plan (preview), save, list, show;
the offline package of a community."""

from __future__ import annotations

import shutil
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response

from vigilancia.domain.patrols import DEFAULT_MAX_KM
from vigilancia.reports.package_map import render_package_map
from vigilancia.services import overview
from vigilancia.services.patrol import parse_start, plan_patrol
from vigilancia.services.transfers import package_download
from vigilancia.web.deps import GEOJSON, Body, Ctx, context, respond

router = APIRouter(prefix="/api", tags=["patrols"])

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


class PlanRequest(Body):
    """What to plan: the community, the longest round trip and where to start."""

    territory: str = Field(min_length=1, max_length=200, description="Name or id.")
    max_km: float = Field(DEFAULT_MAX_KM, gt=0, le=1000,
                          description="Longest round trip (km), back to the start.")
    start: str | None = Field(None, max_length=200,
                              description="lon,lat or a settlement's name; none: the "
                              "settlement in or nearest the territory.")
    returns: bool = Field(True, description="Whether the patrol comes back to the start.")


@router.get("/patrol-plans", summary="Stored patrol plans, newest first")
def plans(territory: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
          ctx: Ctx = Depends(context)) -> Response:
    """The stored plans (all, or one territory's)."""
    return respond(overview.patrol_plans(ctx.store, territory=territory,
                                         disclosure=ctx.disclosure))


@router.get("/patrol-plans/{plan_id}", summary="One patrol plan on the map")
def plan(plan_id: Id, ctx: Ctx = Depends(context)) -> Response:
    """GeoJSON of the plan's start, route and stops, with the plan itself."""
    return respond(overview.patrol_plan_view(ctx.store, plan_id, disclosure=ctx.disclosure),
                   media_type=GEOJSON)


@router.post("/patrol-plans/preview", summary="Plan a patrol without saving it")
def preview(body: PlanRequest, ctx: Ctx = Depends(context)) -> Response:
    """The plan as :func:`vigilancia.services.patrol.plan_patrol` makes it (id 0)."""
    return respond(plan_patrol(ctx.store, ctx.settings, territory=body.territory,
                               max_km=body.max_km, start=parse_start(body.start),
                               actor=ctx.actor, returns=body.returns, save=False))


@router.post("/patrol-plans", status_code=201, summary="Plan a patrol and save it")
def save(body: PlanRequest, ctx: Ctx = Depends(context)) -> Response:
    """Plans and stores the patrol (recorded in the audit log); the package download
    then carries it."""
    return respond(plan_patrol(ctx.store, ctx.settings, territory=body.territory,
                               max_km=body.max_km, start=parse_start(body.start),
                               actor=ctx.actor, returns=body.returns), status=201)


@router.get("/territories/{territory_id}/package", summary="The community's offline package",
            response_class=FileResponse,
            responses={200: {"content": {"application/zip": {}}}})
def package(territory_id: Id,
            paper: Annotated[str, Query(pattern="^(a4|letter)$")] = "a4",
            ctx: Ctx = Depends(context)) -> Response:
    """A ZIP with the community's open cases and newest plan for the phones (GPX, KMZ,
    CoMapeo, ODK, GeoPackage, PMTiles) and the printable map; the download is recorded
    in the audit log."""
    made = package_download(ctx.store, ctx.settings, territory_id,
                            render_map=render_package_map, actor=ctx.actor, paper=paper)
    return FileResponse(made.path, media_type="application/zip", filename=made.filename,
                        background=BackgroundTask(shutil.rmtree, made.folder, True))
