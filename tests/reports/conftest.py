"""Fixtures of the report tests: the report world (built once per test session), the
network blocked, and the tools that read PDFs (skip with a reason when missing)."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator

import pytest
from report_world import World, build_world

#: Not collected for doctests: next to tests/io/conftest.py (on the pythonpath) the module
#: name "conftest" would clash when both folders are given on the command line.
collect_ignore = ["conftest.py"]


def _weasyprint_ok() -> str | None:
    try:
        from vigilancia.reports.document import load_weasyprint

        load_weasyprint()  # (as the reports load it: Pillow's settings left as they were)
    except (ImportError, OSError) as exc:  # the Python package or its Debian libraries
        return f"WeasyPrint cannot be loaded ({exc}); run scripts/system-packages"
    return None


@pytest.fixture(scope="session")
def pdf_tools() -> None:
    """WeasyPrint and poppler's pdftotext/pdftoppm/pdfdetach, or the test is skipped."""
    why = _weasyprint_ok()
    if why:
        pytest.skip(why)
    for tool in ("pdftotext", "pdftoppm", "pdfdetach"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is missing: install poppler-utils (scripts/system-packages)")


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The report world on SQLite (see report_world.py), built once per session."""
    built = build_world(tmp_path_factory.mktemp("report_world"))
    yield built
    built.store.close()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every attempt to open a connection or resolve a name fails (and is listed)."""
    tried: list[str] = []

    def refuse(*args, **kwargs):
        tried.append(repr(args[:2]))
        raise OSError("network blocked in tests")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return tried
