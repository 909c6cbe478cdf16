"""Creating and opening workspaces (one organisation's data)."""

from __future__ import annotations

from pathlib import Path

from vigilancia.config import Settings
from vigilancia.io.store import WorkspaceStore


def init_workspace(path: Path, settings: Settings, *, name: str | None = None) -> WorkspaceStore:
    """Create a new workspace at ``path`` (a folder); fails if one is already there."""
    return WorkspaceStore.create(Path(path), database_url=settings.database_url, name=name)


def open_workspace(path: Path, settings: Settings) -> WorkspaceStore:
    """Open the workspace at ``path``, upgrading its schema if needed."""
    return WorkspaceStore.open(Path(path), database_url=settings.database_url)
