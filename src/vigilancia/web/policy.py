"""Who may call what: THE policy table of the web app, one entry per route and method.

Access is denied by default. Every request is matched against the app's routes
(:mod:`vigilancia.web.guard`); the matched route's entry here decides:

- a route with no entry is refused to everybody (HTTP 403 and a line in the log: it
  is a bug), and the access tests fail for it;
- ``PUBLIC`` routes (the login page and form, the language switch, the static
  files, the JSON login) need no session;
- every other entry lists the roles allowed. Anonymous requests get 401 under
  ``/api/`` and a redirect to ``/login`` for pages; a logged-in role that is not
  listed gets 403.

Writes (POST, PUT, PATCH, DELETE) by a session must carry its CSRF token (the
``X-CSRF-Token`` header, or the ``csrf_token`` field of a form).

What each role may *see* inside an allowed answer (monitors' names, exact points,
patrol plans) is decided once in :mod:`vigilancia.domain.access`. The README shows
this table as a grid of routes and roles.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigilancia.domain.access import Role

__all__ = [
    "EVERYONE",
    "FIELD",
    "POLICY",
    "PUBLIC",
    "STAFF",
    "Rule",
    "is_page",
    "rule_for",
]


@dataclass(frozen=True)
class Rule:
    """Who may call a route: ``public`` (anybody, no session) or the ``roles`` listed."""

    roles: frozenset[Role] = frozenset()
    public: bool = False

    def allows(self, role: Role | None) -> bool:
        """Whether ``role`` (None: anonymous) may call the route."""
        return self.public or (role is not None and role in self.roles)


PUBLIC = Rule(public=True)
#: Every account, whatever its role.
EVERYONE = Rule(frozenset(Role))
#: Those who work the cases in the field: admins, coordinators, monitors.
FIELD = Rule(frozenset({Role.ADMIN, Role.COORDINATOR, Role.MONITOR}))
#: Those who plan and assign: admins and coordinators.
STAFF = Rule(frozenset({Role.ADMIN, Role.COORDINATOR}))
#: Everybody but viewers (field observations, snapped for most).
ANALYSTS = Rule(frozenset({Role.ADMIN, Role.COORDINATOR, Role.MONITOR, Role.ANALYST}))
#: Admins only: accounts and the audit log.
ADMINS = Rule(frozenset({Role.ADMIN}))

#: (method, route path) -> rule. Paths are the routes' templates, as in ``app.routes``.
POLICY: dict[tuple[str, str], Rule] = {
    # pages
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("GET", "/language/{lang}"): PUBLIC,
    ("GET", "/static"): PUBLIC,
    ("GET", "/"): EVERYONE,
    ("POST", "/logout"): EVERYONE,
    # session and schema
    ("POST", "/api/session"): PUBLIC,
    ("GET", "/api/session"): EVERYONE,
    ("DELETE", "/api/session"): EVERYONE,
    ("GET", "/api/openapi.json"): EVERYONE,
    # the map
    ("GET", "/api/territories"): EVERYONE,
    ("GET", "/api/territories/geojson"): EVERYONE,
    ("GET", "/api/territories/{territory_id}"): EVERYONE,
    ("GET", "/api/clearings"): EVERYONE,
    ("GET", "/api/clearings/{clearing_id}"): EVERYONE,
    ("GET", "/api/tiles/clearings/{z}/{x}/{y}.mvt"): EVERYONE,
    ("GET", "/api/risk"): EVERYONE,
    ("GET", "/api/risk/geojson"): EVERYONE,
    ("GET", "/api/corridors"): EVERYONE,
    ("GET", "/api/basemap"): EVERYONE,
    ("GET", "/api/basemap/tiles/{z}/{x}/{y}"): EVERYONE,
    ("GET", "/api/observations"): ANALYSTS,
    # cases
    ("GET", "/api/cases"): EVERYONE,
    ("GET", "/api/cases/{case}"): EVERYONE,
    ("PATCH", "/api/cases/{case}"): FIELD,
    ("POST", "/api/cases/{case}/assignment"): STAFF,
    # patrols and packages
    ("GET", "/api/patrol-plans"): FIELD,
    ("GET", "/api/patrol-plans/{plan_id}"): FIELD,
    ("POST", "/api/patrol-plans/preview"): STAFF,
    ("POST", "/api/patrol-plans"): STAFF,
    ("GET", "/api/territories/{territory_id}/package"): FIELD,
    # field data
    ("POST", "/api/field-imports"): FIELD,
    # reports
    ("GET", "/api/reports"): EVERYONE,
    # administration
    ("GET", "/api/users"): ADMINS,
    ("GET", "/api/audit"): ADMINS,
}

#: Methods that write: a session's request must carry its CSRF token.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def rule_for(method: str, path: str) -> Rule | None:
    """The entry of a route (HEAD and OPTIONS are read as GET), or None: refused."""
    m = "GET" if method in ("HEAD", "OPTIONS") else method
    return POLICY.get((m, path))


def is_page(path: str) -> bool:
    """Whether a request path is a page (HTML for people) rather than the API or a file."""
    return not (path.startswith("/api/") or path == "/api" or path.startswith("/static"))
