"""The web app: the same services as the CLI, in a browser, for a team, with accounts.

THIN: each route parses, calls one service and serialises (through
:mod:`vigilancia.results`, the same JSON as ``--json``); no store reads, no
transactions. :func:`create_app` builds the app of one workspace.

- :mod:`.app`: :func:`create_app` and :func:`app_from_environment` (``uvicorn --factory``);
- :mod:`.guard`: the middleware every request passes (language, session, the policy
  table, CSRF, security headers);
- :mod:`.policy`: THE table of routes x roles (deny by default);
- :mod:`.errors`: errors to HTTP answers, in the request's language;
- :mod:`.api`: the JSON/GeoJSON API under ``/api/`` (one module per area);
- :mod:`.pages`: the pages (login, start) and the convention for adding more;
- ``templates/`` (Jinja2) and ``static/`` (``static/vendor``: filled from npm).
"""

from vigilancia.web.app import app_from_environment, create_app

__all__ = ["app_from_environment", "create_app"]
