"""Fixtures shared by the io tests: the real data folder, English messages, a workspace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vigilancia.i18n import get_language, set_language
from vigilancia.io.store import WorkspaceStore

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
SHARED_DATA = REPO.parent / "shared" / "data"
TEST_DATA = REPO / "tests" / "data"


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` next to the repository; the test is skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (it is not part of the repository)")
    return SHARED_DATA


@pytest.fixture
def english() -> Iterator[None]:
    """Messages in English for the duration of a test (the default language is Spanish)."""
    before = get_language()
    set_language("en")
    yield
    set_language(before)


@pytest.fixture
def store(store_factory, tmp_path: Path) -> Iterator[WorkspaceStore]:
    """A new workspace named "Kakataibo" on this test's database backend."""
    with store_factory.create(tmp_path / "ws", name="Kakataibo") as st:
        yield st
