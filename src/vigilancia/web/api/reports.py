"""``/api/reports``: the reports a person can download from this workspace.

The place where report downloads are listed: each report kind names the address that
makes it. The offline package of a community is the first; evidence reports per case
and monthly bulletins per community join the list as their services land.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from vigilancia.services.overview import report_kinds
from vigilancia.web.deps import Ctx, context, respond

router = APIRouter(prefix="/api", tags=["reports"])


@router.get("/reports", summary="Reports that can be downloaded")
def reports(ctx: Ctx = Depends(context)) -> Response:
    """Each kind of report: what it is, for whom, and the address that makes it."""
    return respond(report_kinds(disclosure=ctx.disclosure))
