"""The pages of the work that writes: the monitoring run, the field-data upload and
patrol planning (the conventions of :mod:`vigilancia.web.pages`).

Each page draws its form and its map; its script writes through the API (with the
session's CSRF token) and shows the answers:

- ``/monitoreo``: upload alert files and start ``monitor`` in the background
  (``POST /api/monitor-runs``), then follow its progress (``GET
  /api/monitor-runs/{id}``); a reload finds the newest run again;
- ``/campo``: several field files at once with the upload's progress
  (``POST /api/field-imports``) and the result of each file;
- ``/patrullas``: a community, a budget (km) and a start clicked on the map; the route
  (``POST /api/patrol-plans/preview``), saved (``POST /api/patrol-plans``), and the
  community's offline package (``GET /api/territories/{id}/package``).

Controls a role may not use are not drawn (the policy table decides, through
``may(method, path)`` in the templates); the server refuses them anyway.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import HTMLResponse, Response

from vigilancia.services.jobs import monitoring_page
from vigilancia.services.territories import list_territories
from vigilancia.services.transfers import MAX_UPLOAD_BYTES
from vigilancia.web.deps import Ctx, context
from vigilancia.web.pages import page

router = APIRouter(include_in_schema=False)


@router.get("/monitoreo", response_class=HTMLResponse)
def monitoring(request: Request, ctx: Ctx = Depends(context)) -> Response:
    """Start a monitoring run and follow it (the newest run is shown on arrival)."""
    return page(request, "monitoreo.html", view=monitoring_page(ctx.store, ctx.settings),
                max_bytes=MAX_UPLOAD_BYTES)


@router.get("/campo", response_class=HTMLResponse)
def field_upload(request: Request) -> Response:
    """Upload field files (CoMapeo, ODK/Kobo, GPX, KML, GeoJSON, photos)."""
    return page(request, "campo.html", max_bytes=MAX_UPLOAD_BYTES)


@router.get("/patrullas", response_class=HTMLResponse)
def patrols(request: Request,
            territorio: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
            ctx: Ctx = Depends(context)) -> Response:
    """Plan a patrol of a community on the map, save it, download the package
    (``?territorio=ID``: that community chosen on arrival)."""
    return page(request, "patrullas.html", territories=list_territories(ctx.store),
                chosen=territorio)
