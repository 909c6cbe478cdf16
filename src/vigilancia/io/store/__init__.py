"""Workspace database: SQLite file per workspace (default) or PostgreSQL, with Alembic migrations.

:class:`WorkspaceStore` (:mod:`.workspace`) is the unit of work and hands out
one repository per aggregate (``store.territories``, ``store.clearings``,
``store.cases``...); the records they return are in :mod:`.records`.

- ``engine``: URLs, engines, SQLite settings, Alembic migrations;
- ``records``: the frozen records the store reads and takes, and the row codecs;
- ``repository``: the database handle and SQL helpers every repository shares;
- ``territories``, ``context`` (context layers, import ledger), ``clearings``
  (batches, clearings), ``series`` (a product's clearings across downloads: history,
  aliases), ``training`` (models, labels), ``risk``, ``corridors``,
  ``cases`` (cases, events, patrol plans), ``field`` (observations, files),
  ``clearing_map`` (the map's index of clearings and its reads), ``accounts``
  (accounts, sessions, login attempts, the audit log),
  ``custody`` (the custody log, its keys, derived copies): one module per aggregate;
- ``workspace``: the store itself; ``schema``: the tables; ``migrations``.

>>> from vigilancia.io.store import WorkspaceStore, NewBatch, BatchRecord, TerritorySummary
"""

from vigilancia.io.store.records import (
    AuditRecord,
    BatchRecord,
    ClearingCard,
    ClearingColumns,
    ClearingDetail,
    ClearingFilter,
    ClearingHistoryRecord,
    ClearingOverlaps,
    ClearingPlacements,
    ClearingPoints,
    ClearingPolygons,
    ClearingPositions,
    CoverageRecord,
    CustodyKeyRecord,
    DerivedFileRecord,
    DriverCounts,
    FieldFileRecord,
    MapClearings,
    ModelRecord,
    NewBatch,
    ObservationRecord,
    PatrolPlanRecord,
    RiskAssessmentRecord,
    RiskScoreRecord,
    SeriesClearings,
    SessionRecord,
    TerritorySummary,
    UncasedClearings,
    UserRecord,
)
from vigilancia.io.store.workspace import DB_FILENAME, WorkspaceStore

__all__ = [
    "DB_FILENAME",
    "AuditRecord",
    "BatchRecord",
    "ClearingCard",
    "ClearingColumns",
    "ClearingDetail",
    "ClearingFilter",
    "ClearingHistoryRecord",
    "ClearingOverlaps",
    "ClearingPlacements",
    "ClearingPoints",
    "ClearingPolygons",
    "ClearingPositions",
    "CoverageRecord",
    "CustodyKeyRecord",
    "DerivedFileRecord",
    "DriverCounts",
    "FieldFileRecord",
    "MapClearings",
    "ModelRecord",
    "NewBatch",
    "ObservationRecord",
    "PatrolPlanRecord",
    "RiskAssessmentRecord",
    "RiskScoreRecord",
    "SeriesClearings",
    "SessionRecord",
    "TerritorySummary",
    "UncasedClearings",
    "UserRecord",
    "WorkspaceStore",
]
