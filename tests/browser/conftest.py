"""The browser tests' set-up: a real server on the demo workspace, and Debian's chromium.

Once per test process:

- the demo's workspace (``demo_template`` of ``tests/conftest.py``: the sample region's
  territories, clearings with drivers, risk, corridors, cases and a patrol plan, a
  field import, one account per role), copied to a folder of its own, with a monitor's
  geotagged photo at the first case;
- a real uvicorn server of :func:`vigilancia.web.create_app` on a free port of
  127.0.0.1, in a thread;
- Debian's chromium, headless, driven by Playwright, with WebGL through SwiftShader
  (MapLibre needs WebGL 2) and every host name but 127.0.0.1 unresolvable, so that
  nothing leaves the machine, not even chromium's own background calls.

Each test gets pages through :func:`logged_in_page` (``logged_in_page("coordinator")``):
a fresh browser context (its own cookies) logged in through the login form. Every
request a page makes is recorded (:class:`Recorder`); after each test, a request to
anything but the app's own address fails the test (the pages load nothing from
outside: no CDN, no remote font, no remote tile).

The tests skip, with the reason, when Playwright, chromium or the npm assets (``make
web-assets``) are missing.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import LAPTOP, Server, log_in, write_field_photo

from vigilancia.web.state import missing_map_assets

#: Debian's chromium (the ``/usr/bin/chromium`` wrapper works too, with a harmless
#: warning of its own).
CHROMIUM_PATHS = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def _chromium() -> str | None:
    for path in CHROMIUM_PATHS:
        if Path(path).is_file():
            return path
    return shutil.which("chromium")


def _why_skip() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install playwright, or make test)"
    if _chromium() is None:
        return "Debian's chromium is not installed (scripts/system-packages installs it)"
    missing = missing_map_assets()
    if missing:
        return f"the web app's npm assets are missing ({', '.join(missing)}): run make web-assets"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def browser_skip() -> None:
    """Skip (with the reason) when the browser tests cannot run here."""
    reason = _why_skip()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def server(browser_skip: None, demo_template: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A uvicorn server of the demo workspace (a copy) on a free port of 127.0.0.1."""
    import uvicorn

    from vigilancia.config import Settings
    from vigilancia.services.field import import_field
    from vigilancia.services.workspace import open_workspace
    from vigilancia.web import create_app

    workspace = tmp_path_factory.mktemp("browser-ws") / "espacio"
    shutil.copytree(demo_template, workspace)
    settings = Settings()
    with open_workspace(workspace, settings) as store:  # a monitor's photo at the first case
        case = sorted(store.cases.list(), key=lambda c: c.id)[0]
        photo = write_field_photo(workspace.parent / "claro_plantones.jpg",
                                  case.lon + 0.0002, case.lat)
        import_field(store, settings, [photo], actor="Juan Monitor")
    app = create_app(settings, workspace)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            access_log=False, lifespan="on")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, name="vigilancia-browser-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield Server(f"http://127.0.0.1:{port}", workspace)
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser(browser_skip: None) -> Iterator[Any]:
    """Debian's chromium, headless, through Playwright (one for the whole session)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class Recorder:
    """Every request the pages of a test made (``page.on("request")`` of each context)."""

    urls: list[str] = field(default_factory=list)

    def attach(self, context: Any) -> None:
        context.on("request", lambda request: self.urls.append(request.url))

    def outside(self, server: Server) -> list[str]:
        """The requests that went anywhere but the app."""
        return [u for u in self.urls if not server.origin_of(u)]

    def matching(self, fragment: str) -> list[str]:
        return [u for u in self.urls if fragment in u]


@pytest.fixture
def requests_seen(server: Server) -> Iterator[Recorder]:
    """The requests of the test's pages; the test fails if one left the app."""
    recorder = Recorder()
    yield recorder
    outside = recorder.outside(server)
    assert outside == [], f"requests left the app: {outside[:10]}"


@pytest.fixture
def logged_in_page(browser: Any, server: Server, requests_seen: Recorder
                   ) -> Iterator[Callable[..., Any]]:
    """``logged_in_page(role, viewport=LAPTOP, lang="es")``: a page of a fresh browser
    context, logged in as the demo account of ``role`` (its requests recorded); the
    contexts close after the test."""
    contexts: list[Any] = []

    def make(role: str | None = "coordinator", *, viewport: dict[str, int] | None = None,
             lang: str = "es") -> Any:
        context = browser.new_context(viewport=viewport or LAPTOP, locale=lang,
                                      extra_http_headers={"Accept-Language": lang})
        context.set_default_timeout(20_000)
        contexts.append(context)
        requests_seen.attach(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        if role is not None:
            log_in(page, server, role)
        return page

    errors: list[str] = []
    yield make
    for context in contexts:
        with contextlib.suppress(Exception):
            context.close()
    assert errors == [], f"script errors on the pages: {errors[:5]}"


