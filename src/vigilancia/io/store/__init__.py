"""Workspace database: SQLite file per workspace (default) or PostgreSQL, with Alembic migrations.

>>> from vigilancia.io.store import WorkspaceStore, NewBatch, BatchRecord, TerritorySummary
"""

from vigilancia.io.store.workspace import (
    DB_FILENAME,
    BatchRecord,
    ClearingColumns,
    NewBatch,
    TerritorySummary,
    WorkspaceStore,
)

__all__ = [
    "DB_FILENAME",
    "BatchRecord",
    "ClearingColumns",
    "NewBatch",
    "TerritorySummary",
    "WorkspaceStore",
]
