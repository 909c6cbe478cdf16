"""The working pages: the dashboard map, a territory, the cases and one case.

Each route parses, calls one service and renders a template (the convention of
:mod:`vigilancia.web.pages`). The map reads its data from the API (vector tiles of the
clearings, GeoJSON of territories, risk, corridors and context layers), never all the
clearings at once. Forms post to the routes below, carry the session's CSRF token and
come back to the page (303) with what changed; the server checks every write against
the policy table whatever the page shows.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import HTMLResponse, Response

from vigilancia.services.dashboard import map_overview
from vigilancia.web.deps import Ctx, context
from vigilancia.web.pages import page

router = APIRouter(include_in_schema=False)



@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, ctx: Ctx = Depends(context)) -> Response:
    """The map: territories, clearings by likely driver over time, risk, corridors and
    context layers; a click on anything says what it is and why."""
    return page(request, "dashboard.html", overview=map_overview(ctx.store))
