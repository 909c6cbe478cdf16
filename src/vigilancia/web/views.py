"""The working pages: the dashboard map, a territory, the cases and one case.

Each route parses, calls one service and renders a template (the convention of
:mod:`vigilancia.web.pages`). The map reads its data from the API (vector tiles of the
clearings, GeoJSON of territories, risk, corridors and context layers), never all the
clearings at once. Forms post to the routes below, carry the session's CSRF token and
come back to the page (303) with what changed; the server checks every write against
the policy table whatever the page shows.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from vigilancia.errors import InputError, VigilanciaError
from vigilancia.i18n import _
from vigilancia.reports.case_report import render_case_report
from vigilancia.services.case_page import case_page, issue_case_report
from vigilancia.services.cases import (
    assign_cases,
    list_cases,
    parse_case_id,
    parse_status,
    parse_verdict,
    update_case,
)
from vigilancia.services.dashboard import map_overview
from vigilancia.services.photos import case_photo
from vigilancia.services.territory_page import territory_page
from vigilancia.web.deps import Ctx, context, pdf_download
from vigilancia.web.pages import page

router = APIRouter(include_in_schema=False)

CaseRef = Annotated[str, Path(min_length=1, max_length=16, pattern=r"^[Cc]?-?\d{1,9}$")]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, ctx: Ctx = Depends(context)) -> Response:
    """The map: territories, clearings by likely driver over time, risk, corridors and
    context layers; a click on anything says what it is and why."""
    return page(request, "dashboard.html", overview=map_overview(ctx.store))


@router.get("/territorios/{territory_id}", response_class=HTMLResponse)
def territory(territory_id: Id, request: Request, ctx: Ctx = Depends(context)) -> Response:
    """One territory: its risk and the reasons, the trend, its cases, its last patrols."""
    return page(request, "territory.html",
                view=territory_page(ctx.store, territory_id, disclosure=ctx.disclosure))


@router.get("/casos", response_class=HTMLResponse)
def cases(request: Request,
          open_only: Annotated[bool, Query(alias="abiertos")] = False,
          ctx: Ctx = Depends(context)) -> Response:
    """The cases, highest priority first."""
    return page(request, "cases.html", open_only=open_only,
                cases=list_cases(ctx.store, open_only=open_only, disclosure=ctx.disclosure))


@router.get("/casos/{case}", response_class=HTMLResponse)
def case(case: CaseRef, request: Request,
         hecho: Annotated[str | None, Query(max_length=32)] = None,
         error: Annotated[str | None, Query(max_length=500)] = None,
         ctx: Ctx = Depends(context)) -> Response:
    """One case: the timeline, its clearings on the map, observations and evidence, the
    status and verdict form, the assignment and the report."""
    return page(request, "case.html", view=case_page(ctx.store, case,
                                                      disclosure=ctx.disclosure),
                done=hecho, error=error)


@router.get("/casos/{case}/fotos/{sha256}")
def case_photo_copy(case: CaseRef,
                    sha256: Annotated[str, Path(pattern=r"^[0-9a-fA-F]{64}$")],
                    ctx: Ctx = Depends(context)) -> Response:
    """A small copy of one of the case's photos, without metadata (never the original)."""
    photo = case_photo(ctx.store, ctx.settings, case, sha256, actor=ctx.actor)
    return FileResponse(photo.path, media_type=photo.media_type,
                        headers={"Cache-Control": "private, max-age=86400",
                                 "X-Original-SHA256": photo.original_sha256})


@router.post("/casos/{case}/informe")
def case_report_download(
    case: CaseRef, request: Request,
    to: Annotated[str, Form(max_length=32)] = "fiscalia",
    images: Annotated[str, Form(max_length=8)] = "",
    ctx: Ctx = Depends(context),
) -> Response:
    """Issue the case report for an authority (recorded in the custody log) and download
    the PDF."""
    made = issue_case_report(ctx.store, ctx.settings, case, addressee=to.strip().lower(),
                             actor=ctx.actor, render=render_case_report,
                             lang=getattr(request.state, "language", None),
                             imagery="auto" if images == "auto" else "none")
    return pdf_download(made)


def _back(case: str, *, done: str | None = None, error: str | None = None) -> Response:
    target = f"/casos/C-{parse_case_id(case):04d}"
    if error:
        target += f"?error={quote(error[:400])}#estado"
    elif done:
        target += f"?hecho={done}#estado"
    return RedirectResponse(target, status_code=303)


@router.post("/casos/{case}/estado")
def change_case(
    case: CaseRef,
    status: Annotated[str, Form(max_length=32)] = "",
    verdict: Annotated[str, Form(max_length=64)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
    observed: Annotated[str, Form(max_length=10)] = "",
    ctx: Ctx = Depends(context),
) -> Response:
    """The status and verdict form: the change goes to the case's history (who, when)."""
    try:
        seen = None
        if observed.strip():
            try:
                seen = date.fromisoformat(observed.strip())
            except ValueError:
                raise InputError(_("The date of the visit must be a date as YYYY-MM-DD"),
                                 inputs="observed") from None
        update_case(ctx.store, parse_case_id(case), actor=ctx.actor,
                    status=parse_status(status) if status.strip() else None,
                    verdict=parse_verdict(verdict) if verdict.strip() else None,
                    note=note.strip() or None, observed_at=seen)
    except VigilanciaError as exc:
        return _back(case, error=exc.user_text())
    return _back(case, done="estado")


@router.post("/casos/{case}/asignacion")
def assign_case(case: CaseRef, assignee: Annotated[str, Form(max_length=200)] = "",
                ctx: Ctx = Depends(context)) -> Response:
    """Assign the case to a monitor or patrol team (recorded in its history)."""
    try:
        if not assignee.strip():
            raise InputError(_("Write who will visit the case"), inputs="assignee")
        assign_cases(ctx.store, [parse_case_id(case)], assignee=assignee.strip(),
                     actor=ctx.actor)
    except VigilanciaError as exc:
        return _back(case, error=exc.user_text())
    return _back(case, done="asignacion")
