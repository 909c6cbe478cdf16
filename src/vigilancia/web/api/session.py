"""``/api/session`` (log in and out for programs), the OpenAPI schema, the accounts and the
audit log (admins), and the reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field
from starlette.responses import JSONResponse, Response

from vigilancia.errors import InputError
from vigilancia.i18n import _
from vigilancia.services.accounts import audit_log, list_users, log_in, log_out
from vigilancia.web.deps import Body, Ctx, context, respond
from vigilancia.web.guard import SESSION_COOKIE

router = APIRouter(prefix="/api", tags=["session"])


class Credentials(Body):
    """An account's name and password."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    """The session cookie: HttpOnly, SameSite=Lax, Secure over https, for the whole app."""
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/")


@router.post("/session", summary="Log in (for programs)")
def login(body: Credentials, request: Request, ctx: Ctx = Depends(context)) -> Response:
    """Opens a session: the answer holds the CSRF token that writes must send in the
    ``X-CSRF-Token`` header; the session cookie is set. Logins are rate-limited per
    account and per address (429)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":  # a cross-site form cannot send JSON
        raise InputError(_("Send the name and password as JSON"))
    result = log_in(ctx.store, ctx.settings, body.username, body.password,
                    address=ctx.address)
    response = respond(result, status=201)
    set_session_cookie(response, request, result.token)
    return response


@router.get("/session", summary="The current session")
def session(ctx: Ctx = Depends(context)) -> Response:
    """The account, its role, what it sees, its CSRF token and when the session ends."""
    return respond(ctx.user)


@router.delete("/session", status_code=204, summary="Log out")
def logout(request: Request, ctx: Ctx = Depends(context)) -> Response:
    """Ends the session."""
    log_out(ctx.store, request.cookies.get(SESSION_COOKIE), address=ctx.address)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request) -> Response:
    """The OpenAPI schema of this API."""
    return JSONResponse(request.app.openapi())


@router.get("/users", summary="Accounts (admins)")
def users(ctx: Ctx = Depends(context)) -> Response:
    """Every account: name, role, active, when made and by whom."""
    return respond(list_users(ctx.store))


@router.get("/audit", summary="The audit log (admins)")
def audit(limit: Annotated[int, Query(ge=1, le=1000)] = 100,
          before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
          ctx: Ctx = Depends(context)) -> Response:
    """Who wrote what and when (logins, accounts, patrol plans, field imports, package
    downloads), newest first; ``before``: the id of the oldest entry already seen."""
    return respond(audit_log(ctx.store, limit=limit, before=before))
