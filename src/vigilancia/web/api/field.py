"""``/api/field-imports``: several field files at once, through the field importers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, UploadFile
from starlette.responses import Response

from vigilancia.services.transfers import Upload, import_uploads
from vigilancia.web.deps import Ctx, context, respond

router = APIRouter(prefix="/api", tags=["field"])


@router.post("/field-imports", summary="Import field files (several at once)")
def field_imports(files: Annotated[list[UploadFile], File(description="CoMapeo or ODK/Kobo "
                                                          "exports (.zip), GPX, KML/KMZ, "
                                                          "GeoJSON, photos.")],
                  ctx: Ctx = Depends(context)) -> Response:
    """Imports each file with the same importers as ``vigilancia field import`` and
    answers the result of each; send the session's ``X-CSRF-Token`` header."""
    return respond(import_uploads(
        ctx.store, ctx.settings,
        [Upload(f.filename or "archivo", f.file) for f in files], actor=ctx.actor))
