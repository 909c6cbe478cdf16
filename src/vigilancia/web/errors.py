"""Errors as the web app answers them: one place maps them to HTTP (``errors.HTTP_STATUS``).

- A :class:`~vigilancia.errors.VigilanciaError` becomes its status
  (:func:`vigilancia.errors.http_status`) and its text for a person, already in the
  request's language: under ``/api/`` a JSON body ``{"error": {"message", "hint",
  "source", "inputs", "actions", "status"}}``; for pages the error page.
- A request that breaks the API's schema (a missing or malformed value) is a 422
  whose message names each wrong input, in the request's language.
- Unknown addresses and methods are 404 and 405, worded the same way.
- Anything else is a 500 that says only that something failed on the server; the
  traceback goes to the server's log.

No answer carries a traceback, SQL, or a path of the server: a ``source`` that is a
path keeps only its file name.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from vigilancia.errors import (
    InputError,
    NotFoundError,
    VigilanciaError,
    http_status,
)
from vigilancia.i18n import _

if TYPE_CHECKING:
    from vigilancia.web.state import AppState

__all__ = ["error_body", "error_response", "install_handlers"]


def _public_source(source: str | None) -> str | None:
    """An error's ``source`` as it may be shown: a path keeps only its last part."""
    if not source:
        return None
    text = str(source)
    if os.sep in text or "/" in text or "\\" in text:
        if "://" in text:  # a URL (a database's, an ArcGIS layer's): its host only
            return text.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
        return text.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or None
    return text


def error_body(exc: VigilanciaError, status: int) -> dict[str, Any]:
    """The JSON body of an error answer."""
    return {"error": {
        "status": status,
        "message": exc.message,
        "hint": exc.hint,
        "source": _public_source(exc.source),
        "inputs": list(exc.inputs),
        "actions": [{"name": a.name, "inputs": dict(a.inputs)} for a in exc.actions],
    }}


def _wants_html(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api/") or path == "/api" or path.startswith("/static"))


def _as_error(exc: BaseException) -> tuple[VigilanciaError, int]:
    if isinstance(exc, VigilanciaError):
        return exc, http_status(exc)
    if isinstance(exc, HTTPException):
        if exc.status_code == 404:
            return NotFoundError(_("There is nothing at this address"),
                                 hint=_("check the address")), 404
        if exc.status_code == 405:
            return InputError(_("This address does not take this method")), 405
        if exc.status_code == 413:
            return InputError(_("The request is too large")), 413
        if exc.status_code < 500:
            return InputError(_("The request could not be handled")), exc.status_code
    return VigilanciaError(
        _("Something failed on the server; nothing was changed by this request"),
        hint=_("try again; if it fails again, the details are in the server's log"),
    ), 500


def error_response(request: Request, exc: BaseException, state: AppState | None = None
                   ) -> Response:
    """The answer to ``exc``: JSON under ``/api/``, the error page for pages."""
    error, status = _as_error(exc)
    headers = {"WWW-Authenticate": 'Cookie realm="vigilancia"'} if status == 401 else None
    if state is not None and _wants_html(request):
        return state.templates.TemplateResponse(
            request, "error.html", {"error": error, "status": status}, status_code=status,
            headers=headers)
    if _wants_html(request):
        return HTMLResponse(f"<h1>{status}</h1><p>{error.user_text()}</p>", status_code=status)
    return JSONResponse(error_body(error, status), status_code=status, headers=headers)


# ----------------------------------------------------------------- schema errors


def _field_message(err: dict[str, Any]) -> str:
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return _("is required")
    if kind in ("int_parsing", "int_type", "float_parsing", "float_type", "int_from_float",
                "finite_number"):
        return _("must be a number")
    if kind in ("greater_than_equal", "greater_than"):
        return _("must be at least {value}", value=ctx.get("ge", ctx.get("gt")))
    if kind in ("less_than_equal", "less_than"):
        return _("must be at most {value}", value=ctx.get("le", ctx.get("lt")))
    if kind.startswith("date") or kind.startswith("datetime"):
        return _("must be a date as YYYY-MM-DD")
    if kind in ("enum", "literal_error"):
        return _("must be one of: {names}", names=ctx.get("expected", ""))
    if kind == "string_too_long":
        return _("must be at most {n} characters", n=ctx.get("max_length"))
    if kind == "string_too_short":
        return _("must be at least {n} characters", n=ctx.get("min_length"))
    if kind in ("bool_parsing", "bool_type"):
        return _("must be true or false")
    if kind == "json_invalid":
        return _("is not valid JSON")
    if kind in ("model_attributes_type", "dict_type", "model_type"):
        return _("must be an object")
    if kind in ("list_type", "tuple_type"):
        return _("must be a list")
    if kind in ("string_type", "string_unicode"):
        return _("must be text")
    return _("is not valid")


def _field_name(err: dict[str, Any]) -> str:
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header",
                                                           "cookie")]
    return ".".join(loc) or _("the request")


def validation_error(exc: RequestValidationError) -> InputError:
    """A schema error as an :class:`~vigilancia.errors.InputError` naming each input."""
    errors = list(exc.errors())
    parts = [f"{_field_name(e)} {_field_message(e)}" for e in errors[:8]]
    names = [_field_name(e) for e in errors]
    return InputError(_("The request is not valid: {problems}", problems="; ".join(parts)),
                      inputs=tuple(dict.fromkeys(names)))


def install_handlers(app: Any, state: AppState) -> None:
    """Register the handlers of every error kind on ``app``."""

    async def on_vigilancia(request: Request, exc: Exception) -> Response:
        return error_response(request, exc, state)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        error = validation_error(exc)
        if _wants_html(request):
            return error_response(request, error, state)
        return JSONResponse(error_body(error, 422), status_code=422)

    async def on_http(request: Request, exc: Exception) -> Response:
        return error_response(request, exc, state)

    app.add_exception_handler(VigilanciaError, on_vigilancia)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
