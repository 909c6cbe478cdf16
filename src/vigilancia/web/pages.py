"""The pages (HTML for people): login, logout, language switch, and the start page.

How to add a page (the convention every page follows):

1. a route on :data:`router` (``@router.get("/casos/{case}", response_class=HTMLResponse)``)
   that parses its inputs, calls one service with ``ctx.store`` (and
   ``disclosure=ctx.disclosure`` for sensitive data) and answers
   ``page(request, "caso.html", case=result)``;
2. an entry in :data:`vigilancia.web.policy.POLICY` for each of its methods (without
   one it is refused, and the access tests fail); an anonymous visitor is sent to
   ``/login?next=<the page>`` and comes back after logging in;
3. a template in ``web/templates`` that ``{% extends "base.html" %}`` and fills
   ``title``, ``content`` and, for scripts, ``scripts`` (``<script type="module"
   nonce="{{ csp_nonce }}">``: inline scripts run only with the request's nonce);
4. forms that write carry ``<input type="hidden" name="csrf_token" value="{{ csrf_token }}">``,
   and scripts send the same token as the ``X-CSRF-Token`` header (``csrf_token`` is
   also in ``<meta name="csrf-token">``);
5. text through ``{{ _("...") }}`` (Spanish catalog: ``locale/es/LC_MESSAGES``).

Static files (styles, MapLibre and whatever the Makefile installs from npm) are
served from ``web/static`` at ``/static``; nothing is loaded from outside the app.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from vigilancia.errors import NotAuthenticated, TooManyAttempts
from vigilancia.i18n import SUPPORTED, _
from vigilancia.services.accounts import log_in, log_out
from vigilancia.web.api.session import set_session_cookie
from vigilancia.web.deps import Ctx, context
from vigilancia.web.guard import LANGUAGE_COOKIE, SESSION_COOKIE, current_session
from vigilancia.web.state import app_state

router = APIRouter(include_in_schema=False)

#: Cookie of the login form's own CSRF token (double submit: the form carries it too).
LOGIN_COOKIE = "vigilancia_login"


def safe_next(target: str | None) -> str:
    """Where to go after a login or a language switch: a path of this app only.

    >>> safe_next("/casos/C-0001?x=1"), safe_next("https://evil.example/"), safe_next("//x")
    ('/casos/C-0001?x=1', '/', '/')
    """
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return "/"
    return target


def page(request: Request, template: str, status: int = 200, **values: Any) -> Response:
    """Render a page template with what every page has: the session, its CSRF token, the
    language, the CSP nonce."""
    state = app_state(request.app)
    session = current_session(request)
    return state.templates.TemplateResponse(request, template, {
        **values,
        "session": session,
        "csrf_token": "" if session is None else session.csrf_token,
    }, status_code=status)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request,
               next: Annotated[str | None, Query(max_length=2000)] = None) -> Response:
    """The login form (``username``, ``password``); logged-in visitors go on."""
    if current_session(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, safe_next(next))


def _login_form(request: Request, target: str, error: str | None = None,
                status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = page(request, "login.html", status=status, next=target, login_token=token,
                    error=error)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/login")
    return response


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    login_token: Annotated[str, Form(max_length=64)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
    ctx: Ctx = Depends(context),
) -> Response:
    """Check the form and open a session; back to the form with the reason otherwise."""
    target = safe_next(next)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), login_token.encode()):
        return _login_form(request, target, _("The form expired: log in again"), 400)
    try:
        result = log_in(ctx.store, ctx.settings, username, password, address=ctx.address)
    except (NotAuthenticated, TooManyAttempts) as exc:
        status = 429 if isinstance(exc, TooManyAttempts) else 401
        return _login_form(request, target, exc.user_text(), status)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, result.token)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, ctx: Ctx = Depends(context)) -> Response:
    """End the session and go back to the login form."""
    log_out(ctx.store, request.cookies.get(SESSION_COOKIE), address=ctx.address)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/language/{lang}")
def switch_language(lang: str, request: Request,
                    next: Annotated[str | None, Query(max_length=2000)] = None) -> Response:
    """Choose the language of the pages (es, en) and go back."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if lang in SUPPORTED:
        response.set_cookie(LANGUAGE_COOKIE, lang, samesite="lax", path="/",
                            max_age=365 * 24 * 3600, secure=request.url.scheme == "https")
    return response


@router.get("/", response_class=HTMLResponse)
def start(request: Request, ctx: Ctx = Depends(context)) -> Response:
    """The start page."""
    return page(request, "index.html", workspace=ctx.store.name)
