"""``vigilancia serve`` end to end: the command starts uvicorn on the workspace and the app
answers over HTTP (login page, JSON login, the API)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from web_helpers import password_of

from vigilancia.domain.access import Role


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_answers_over_http(web_ws: Path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGILANCIA_")}
    server = subprocess.Popen([sys.executable, "-m", "vigilancia", "serve", str(web_ws),
                               "--port", str(port)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                r = httpx.get(f"{base}/", timeout=2)
                break
            except httpx.HTTPError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.time() < deadline, "the server did not start"
                time.sleep(0.3)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        assert "Iniciar sesión" in httpx.get(f"{base}/login").text
        with httpx.Client(base_url=base) as client:
            r = client.post("/api/session", json={"username": "viewer",
                                                  "password": password_of(Role.VIEWER)})
            assert r.status_code == 201
            assert client.get("/api/territories").status_code == 200
            assert client.get("/static/app.css").headers["content-type"].startswith("text/css")
    finally:
        server.terminate()
        out, _err = server.communicate(timeout=30)
    assert b"Sirviendo" in out
