"""The guard every request passes: language, session, the policy table, CSRF, headers.

One ASGI middleware, so that nothing reaches a route (API, page, static file or
schema) without it:

1. **Language**: the ``vigilancia_lang`` cookie (set by ``/language/{lang}``), else
   the first supported language of ``Accept-Language``, else the server's
   (``VIGILANCIA_LANGUAGE``, Spanish by default). Everything of the request (routes,
   services, errors) runs inside ``with language(...)``.
2. **Session**: the session cookie's token is looked up in the workspace
   (:func:`vigilancia.services.accounts.session_of`); the session (or None) is put in
   ``request.state.session``.
3. **Policy**: the request is matched against the app's routes, and the matched
   route's entry in :data:`vigilancia.web.policy.POLICY` decides (see there). A route
   without an entry is refused.
4. **CSRF**: a write (POST, PUT, PATCH, DELETE) by a session must carry the session's
   CSRF token in the ``X-CSRF-Token`` header or, for an URL-encoded form, in its
   ``csrf_token`` field. The public login form has its own token (a double-submit
   cookie, see :mod:`vigilancia.web.pages`).
5. **Headers**: a Content-Security-Policy that lets pages load nothing from outside
   the app (except a configured remote basemap), no framing, no sniffing, no referrer
   outside the app, and no caching of API answers.

Errors that escape a route become a 500 answer in the request's language, with no
internals; the traceback goes to the server's log only.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Match

from vigilancia.errors import AccessDenied, InputError, NotAuthenticated
from vigilancia.i18n import SUPPORTED, _, language
from vigilancia.services.accounts import SessionInfo, session_of
from vigilancia.web.errors import error_response
from vigilancia.web.policy import UNSAFE_METHODS, is_page, rule_for
from vigilancia.web.state import AppState

log = logging.getLogger("vigilancia.web")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_COOKIE = "vigilancia_sesion"
LANGUAGE_COOKIE = "vigilancia_lang"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
#: Largest URL-encoded form the guard reads for its CSRF field (bytes).
MAX_FORM = 1024 * 1024


def request_language(request: Request, default: str) -> str:
    """The language of a request: cookie, then ``Accept-Language``, then ``default``.

    >>> from starlette.requests import Request
    >>> scope = {"type": "http", "headers": [(b"accept-language", b"en-GB,en;q=0.9,es;q=0.5")]}
    >>> request_language(Request(scope), "es")
    'en'
    """
    chosen = (request.cookies.get(LANGUAGE_COOKIE) or "").strip().lower()
    if chosen in SUPPORTED:
        return chosen
    header = request.headers.get("accept-language", "")
    weighted = []
    for i, part in enumerate(header.split(",")):
        bits = part.strip().split(";")
        tag = bits[0].strip().lower().split("-")[0]
        q = 1.0
        for b in bits[1:]:
            if b.strip().startswith("q="):
                try:
                    q = float(b.strip()[2:])
                except ValueError:
                    q = 0.0
        if tag in SUPPORTED and q > 0:
            weighted.append((-q, i, tag))
    if weighted:
        return sorted(weighted)[0][2]
    return default if default in SUPPORTED else "es"


def client_address(request: Request) -> str:
    """The client's address as the server saw it (behind a proxy: what uvicorn's
    ``--proxy-headers`` made of it)."""
    return request.client.host if request.client else "?"


class Guard:
    """The ASGI middleware described in the module text."""

    def __init__(self, app: ASGIApp, state: AppState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        lang = request_language(request, self.state.settings.language)
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})
        scope["state"].update({"language": lang, "csp_nonce": nonce, "session": None})
        send = self._with_headers(send, scope["path"], nonce)
        with language(lang):
            started = False

            async def tracking_send(message: Message) -> None:
                nonlocal started
                if message["type"] == "http.response.start":
                    started = True
                await send(message)

            try:
                await self._guarded(scope, request, receive, tracking_send)
            except Exception as exc:  # the last net: no traceback leaves the server
                log.exception("unexpected error on %s %s", scope["method"], scope["path"])
                if started:
                    raise
                response = error_response(request, exc, self.state)
                await response(scope, receive, tracking_send)

    async def _guarded(self, scope: Scope, request: Request, receive: Receive,
                       send: Send) -> None:
        token = request.cookies.get(SESSION_COOKIE)
        session: SessionInfo | None = None
        if token:
            session = await run_in_threadpool(session_of, self.state.store,
                                              self.state.settings, token)
        scope["state"]["session"] = session
        path = scope["path"]
        if "\x00" in path or b"%00" in scope.get("query_string", b"").lower():
            response = error_response(request, InputError(
                _("The address holds a character that is not allowed")), self.state)
            await response(scope, receive, send)
            return
        route_path = self._route_path(scope)
        if route_path is None:  # no route: 404/405 from the router, but never to strangers
            if session is None and not is_page(path) and not path.startswith("/static"):
                await self._deny(request, scope, receive, send, session)
                return
            await self.app(scope, receive, send)
            return
        rule = rule_for(scope["method"], route_path)
        if rule is None:
            log.error("route %s %s has no entry in the policy table: refused",
                      scope["method"], route_path)
            response = error_response(request, AccessDenied(_("This address is closed")),
                                      self.state)
            await response(scope, receive, send)
            return
        if not rule.allows(None if session is None else session.role):
            await self._deny(request, scope, receive, send, session)
            return
        if (session is not None and not rule.public and scope["method"] in UNSAFE_METHODS):
            receive, ok = await self._csrf_ok(request, receive, session)
            if not ok:
                response = error_response(request, AccessDenied(
                    _("The request lacks the session's security token"),
                    hint=_("reload the page and try again")), self.state)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _route_path(self, scope: Scope) -> str | None:
        """The path template of the route that fully matches ``scope`` (None: no route)."""
        for route in self.state.routes():
            match, _child = route.matches(scope)
            if match == Match.FULL:
                return str(getattr(route, "path", ""))
        return None

    async def _deny(self, request: Request, scope: Scope, receive: Receive, send: Send,
                    session: SessionInfo | None) -> None:
        path = scope["path"]
        if session is None and is_page(path):
            target = path + (f"?{scope['query_string'].decode('latin-1')}"
                             if scope.get("query_string") else "")
            response: Response = RedirectResponse(f"/login?next={quote(target, safe='')}",
                                                  status_code=303)
        elif session is None:
            response = error_response(request, NotAuthenticated(
                _("Log in first"), hint=_("open the login page, or send the session cookie")),
                self.state)
        else:
            response = error_response(request, AccessDenied(
                _("Your role ({role}) may not do this", role=session.role.value)),
                self.state)
        await response(scope, receive, send)

    async def _csrf_ok(self, request: Request, receive: Receive, session: SessionInfo
                       ) -> tuple[Receive, bool]:
        """Whether the write carries the session's CSRF token; the ``receive`` to pass on
        (a form's body, once read here, is handed over again)."""
        expected = session.csrf_token.encode()
        given = request.headers.get(CSRF_HEADER)
        if given is not None:
            return receive, hmac.compare_digest(given.encode(), expected)
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return receive, False
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = bool(message.get("more_body"))
            if len(body) > MAX_FORM:
                return receive, False
        field = parse_qs(body.decode("latin-1")).get(CSRF_FIELD, [""])[0]
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay, hmac.compare_digest(field.encode(), expected)

    def _with_headers(self, send: Send, path: str, nonce: str) -> Send:
        csp = self.state.content_security_policy(nonce)
        api = not is_page(path) and not path.startswith("/static")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _v in headers}
                extra = [
                    (b"content-security-policy", csp.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                ]
                if api and b"cache-control" not in names:
                    extra.append((b"cache-control", b"no-store"))
                headers += [(k, v) for k, v in extra if k not in names]
                message["headers"] = headers
            await send(message)

        return send_with_headers


def current_session(request: Request) -> SessionInfo | None:
    """The request's session (None when anonymous), as the guard found it."""
    return getattr(request.state, "session", None)
