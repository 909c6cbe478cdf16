"""What the workspace store hands out and takes in: frozen value records and the row codecs.

Every read of the store returns one of these records (or a domain value:
:class:`~vigilancia.domain.territories.StoredTerritory`,
:class:`~vigilancia.domain.cases.Case`...), never a database row or a dict of
columns. Timestamps are timezone-aware UTC; dates are :class:`datetime.date`;
areas in hectares, distances in metres, lon/lat in degrees (EPSG:4326).
Column records (:class:`ClearingColumns`, :class:`ClearingPoints`...) hold one
numpy array per column, one entry per clearing, ordered by id.

The codecs below turn one stored row into a record (``batch_record``,
``case_from_row``...) or one value into a row (``case_values``); the
repositories use them and nothing else does.

>>> ClearingOverlaps.empty().clearing_id.dtype
dtype('int64')
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
import sqlalchemy as sa
from numpy.typing import NDArray

from vigilancia.domain.cases import Case, CaseEvent, CaseOrigin, CaseStatus, PriorityTerm
from vigilancia.domain.drivers import Driver
from vigilancia.domain.evidence import CustodyEntry, format_at, parse_at
from vigilancia.domain.field import Verdict
from vigilancia.domain.series import SeriesState
from vigilancia.domain.territories import TerritoryKind

if TYPE_CHECKING:
    # (imported where the records are built: the route module's graph libraries would
    # slow down every command that opens a workspace)
    from vigilancia.domain.routes import CorridorRun

# ---------------------------------------------------------------- batches


@dataclass(frozen=True)
class NewBatch:
    """One ingest of an alert product, before it is stored.

    ``key`` is the idempotency key (same product, period, confidence and file
    hash give the same key); ``area_ha`` is the total clearing area in hectares;
    ``stats`` is any JSON-serialisable detail of the run (a raster batch keeps its
    pixel grid in ``stats["grid"]``: ``transform`` (a, b, c, d, e, f), ``crs`` (WKT),
    ``width``, ``height``, of the window read; read it with
    ``vigilancia.services.placement.RasterGrid.from_stats``), the buffer it was placed
    with (``stats["buffer_m"]``) and a vector batch the centre of its equal-area frame
    (``stats["frame"]``); ``series`` the series its clearings join (None: its
    product); ``steps`` the steps of the run already finished.
    """

    key: str
    source: str
    product: str
    since: date | None
    until: date | None
    min_confidence: str
    sha256: str
    n_pixels: int
    n_clearings: int
    area_ha: float
    stats: dict[str, Any] = field(default_factory=dict)
    series: str | None = None
    steps: tuple[str, ...] = ()


@dataclass(frozen=True)
class BatchRecord:
    """A stored alert batch; ``created_at`` is a timezone-aware UTC datetime.

    ``series``: the series its clearings belong to (its product unless named);
    ``steps``: the steps of its run that have finished (``ingest``, ``placement``,
    ``classification``); ``stats["grid"]``: the pixel grid of a raster batch (see
    :class:`NewBatch`).
    """

    id: int
    key: str
    source: str
    product: str
    since: date | None
    until: date | None
    min_confidence: str
    sha256: str
    n_pixels: int
    n_clearings: int
    area_ha: float
    stats: dict[str, Any]
    created_at: datetime
    series: str = ""
    steps: tuple[str, ...] = ()


# -------------------------------------------------------------- clearings


@dataclass(frozen=True)
class SeriesClearings:
    """The stored clearings of a series in an extent: what reconciling a new batch needs.

    ``state`` holds the values a new batch is compared with; ``anchor_lon``/``anchor_lat``
    a point inside each footprint (NaN for vector alerts), ``source_ref`` the alert code
    (None for raster clearings), ``batch_id`` the batch each came from.
    """

    state: SeriesState
    batch_id: NDArray[np.int64]
    anchor_lon: NDArray[np.float64]
    anchor_lat: NDArray[np.float64]
    source_ref: NDArray[np.object_]

    def __len__(self) -> int:
        return len(self.state)


@dataclass(frozen=True)
class ClearingHistoryRecord:
    """One earlier state of a clearing, before batch ``batch_id`` changed it.

    ``change`` says what changed (``"grown,confidence"``, ``"merged"``,
    ``"merged_into"`` with the clearing it joined in ``merged_into``); the other
    fields are the clearing as it was: footprint (shapely, EPSG:4326), dates, area
    (ha), pixels per confidence and the batch it came from; ``at`` is UTC.
    """

    id: int
    clearing_id: int
    batch_id: int
    previous_batch_id: int | None
    change: str
    merged_into: int | None
    at: datetime
    first_date: date | None
    last_date: date | None
    area_ha: float | None
    pixels_low: int
    pixels_high: int
    pixels_highest: int
    pixel_count: int
    geometry: Any


@dataclass(frozen=True)
class TerritorySummary:
    """Clearings touching one territory: count, overlap area (ha) and date range."""

    territory_id: int
    name: str
    kind: TerritoryKind
    clearings: int
    area_ha: float
    first_date: date | None
    last_date: date | None


@dataclass(frozen=True)
class DriverCounts:
    """Classified clearings per likely driver (most first, then by name) and the model
    that classified most of them (None when none is classified)."""

    per_driver: dict[str, int]
    model_version: str | None


@dataclass(frozen=True)
class ClearingColumns:
    """Stored clearings as columns for feature computations (one entry per clearing, by id).

    Dates are ``datetime64[D]`` (NaT when unknown), floats NaN when unknown;
    ``bounds`` is (n, 4) lon/lat (minx, miny, maxx, maxy) and ``geometry``
    shapely objects in EPSG:4326; ``driver`` the likely driver's name (None until
    classified).
    """

    id: NDArray[np.int64]
    batch_id: NDArray[np.int64]
    first_date: NDArray[np.datetime64]
    last_date: NDArray[np.datetime64]
    area_ha: NDArray[np.float64]
    perimeter_m: NDArray[np.float64]
    length_m: NDArray[np.float64]
    width_m: NDArray[np.float64]
    orientation_deg: NDArray[np.float64]
    elongation: NDArray[np.float64]
    compactness: NDArray[np.float64]
    pixel_count: NDArray[np.int64]
    centroid_lon: NDArray[np.float64]
    centroid_lat: NDArray[np.float64]
    boundary_distance_m: NDArray[np.float64]
    bounds: NDArray[np.float64]
    geometry: NDArray[np.object_]
    driver: NDArray[np.object_]
    driver_probability: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.id)

    def take(self, rows: Any) -> ClearingColumns:
        """Some of the clearings: ``rows`` (positions or a boolean mask) of every column."""
        return ClearingColumns(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})


@dataclass(frozen=True)
class ClearingPoints:
    """Stored clearings as points with their area, first date and driver probabilities.

    One entry per clearing, ordered by id; ``first_date`` is ``datetime64[D]``
    (NaT when unknown); ``probs`` maps each driver name to its probabilities,
    NaN where a clearing is not classified.
    """

    id: NDArray[np.int64]
    first_date: NDArray[np.datetime64]
    area_ha: NDArray[np.float64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    probs: dict[str, NDArray[np.float64]]

    def __len__(self) -> int:
        return len(self.id)

    def subset(self, keep: NDArray[np.bool_]) -> ClearingPoints:
        """The clearings where ``keep`` is True."""
        return ClearingPoints(
            self.id[keep], self.first_date[keep], self.area_ha[keep], self.lon[keep],
            self.lat[keep], {k: v[keep] for k, v in self.probs.items()},
        )


@dataclass(frozen=True)
class ClearingDetail:
    """What a report says of one clearing: the alert product and the file it came from
    (``source``), its dates, area (ha), pixels by confidence (low, high, highest), the
    likely driver with its probability, every driver's probability, the reasons
    (``[{code, params}]``) and the model version that gave them (None until classified)."""

    id: int
    product: str
    source: str
    first_date: date | None
    last_date: date | None
    area_ha: float
    pixels_low: int
    pixels_high: int
    pixels_highest: int
    driver: str | None
    driver_probability: float | None
    driver_probs: dict[str, float]
    driver_reasons: list[dict[str, Any]]
    model_version: str | None


@dataclass(frozen=True)
class ClearingPositions:
    """Where stored clearings are, without their polygons (one entry per clearing, by id).

    ``lon``/``lat``: the centroid, degrees (the centre of the bounding box where
    no centroid is stored); ``bounds``: (n, 4) lon/lat (minx, miny, maxx, maxy).
    """

    id: NDArray[np.int64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    bounds: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.id)


@dataclass(frozen=True)
class ClearingPlacements:
    """Where stored clearings are placed, without their polygons (one entry per clearing,
    by id): their batch, (n, 4) lon/lat ``bounds``, the nearest community or reserve
    (``nearest_territory_id``, -1 where there is none), the distance to its boundary
    (``boundary_distance_m``, NaN where there is none) and whether they are within its
    buffer. What deciding which clearings a change of territories can move needs."""

    id: NDArray[np.int64]
    batch_id: NDArray[np.int64]
    bounds: NDArray[np.float64]
    nearest_territory_id: NDArray[np.int64]
    boundary_distance_m: NDArray[np.float64]
    within_buffer: NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.id)


@dataclass(frozen=True)
class ClearingPolygons:
    """Stored clearings' polygons as stored (little-endian WKB bytes, EPSG:4326), with what
    placing them needs: area (ha), perimeter (m, NaN for an alert known only by a box or
    a point), pixel count (0 for vector alerts) and point (lon/lat). One entry per
    clearing, by id; no geometry object is made."""

    id: NDArray[np.int64]
    area_ha: NDArray[np.float64]
    perimeter_m: NDArray[np.float64]
    pixel_count: NDArray[np.int64]
    centroid_lon: NDArray[np.float64]
    centroid_lat: NDArray[np.float64]
    wkb: list[bytes]

    def __len__(self) -> int:
        return len(self.id)


@dataclass(frozen=True)
class ClearingOverlaps:
    """Overlaps of clearings with territories, one entry per pair: the clearing, the
    territory, ``share``, the fraction (0-1) of the clearing's area inside it, and that
    area (``area_ha``)."""

    clearing_id: NDArray[np.int64]
    territory_id: NDArray[np.int64]
    share: NDArray[np.float64]
    area_ha: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.clearing_id)

    @staticmethod
    def empty() -> ClearingOverlaps:
        return ClearingOverlaps(
            np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64),
            np.empty(0, np.float64),
        )


@dataclass(frozen=True)
class UncasedClearings:
    """The clearings in no case yet, by id: what choosing clearings for cases needs.

    ``nearest_territory_id`` is -1 where there is none; ``within_buffer`` says
    whether the clearing is within the buffer of its nearest territory;
    ``last_date`` is ``datetime64[D]`` (NaT when unknown).
    """

    id: NDArray[np.int64]
    nearest_territory_id: NDArray[np.int64]
    within_buffer: NDArray[np.bool_]
    last_date: NDArray[np.datetime64]

    def __len__(self) -> int:
        return len(self.id)


# ----------------------------------------------------------------- the map


@dataclass(frozen=True)
class ClearingFilter:
    """Which clearings a map read takes (every filter given must hold).

    ``since``/``until``: the clearing's alerts (first to last date) meet the period;
    ``drivers``: its likely driver is one of these (``"unclassified"`` for none yet);
    ``min_confidence``: 1 (low: any), 2 (some pixel of high or highest confidence) or 3
    (some of the highest); ``territory_id``: it overlaps that territory; ``statuses``:
    the status of the case it is in (``"none"``: in no case).
    """

    since: date | None = None
    until: date | None = None
    drivers: tuple[str, ...] | None = None
    min_confidence: int = 1
    territory_id: int | None = None
    statuses: tuple[str, ...] | None = None


@dataclass(frozen=True)
class MapClearings:
    """Clearings as a map draws or lists them, one entry per clearing.

    Dates are ISO text (None when unknown); ``confidence`` is the highest confidence
    of the clearing's pixels (1 low, 2 high, 3 highest); ``case_id`` and
    ``case_status`` say which case it is in (None: none); ``nearest_territory_id`` and
    ``boundary_distance_m`` its placement; ``geometry`` is WKB lon/lat (None when the
    read left it out); ``bounds`` is (n, 4) lon/lat.
    """

    id: list[int]
    first_date: list[str | None]
    last_date: list[str | None]
    area_ha: list[float | None]
    driver: list[str | None]
    driver_probability: list[float | None]
    confidence: list[int]
    lon: list[float | None]
    lat: list[float | None]
    case_id: list[int | None]
    case_status: list[str | None]
    nearest_territory_id: list[int | None]
    boundary_distance_m: list[float | None]
    bounds: NDArray[np.float64]
    geometry: list[bytes | None]

    def __len__(self) -> int:
        return len(self.id)

    def take(self, rows: list[int]) -> MapClearings:
        """The clearings at positions ``rows``, in that order."""
        values: dict[str, Any] = {}
        for f in fields(self):
            col = getattr(self, f.name)
            values[f.name] = col[rows] if isinstance(col, np.ndarray) else [col[i] for i in rows]
        return MapClearings(**values)


@dataclass(frozen=True)
class ClearingCard:
    """One stored clearing with everything a person reads about it: its shape features
    (ha, m), alert dates and pixel counts by confidence, likely driver with every
    driver's probability and the reasons (``[{code, params}]``), placement (the
    nearest territory, the distance to its boundary, the territories it overlaps as
    ``(territory id, name, kind, share)``), the case it is in and its polygon (WKB)."""

    id: int
    batch_id: int
    product: str
    first_date: date | None
    last_date: date | None
    features: dict[str, float | None]
    pixels: dict[str, int]
    driver: str | None
    driver_probability: float | None
    driver_probs: dict[str, float]
    driver_reasons: list[dict[str, Any]]
    model_version: str | None
    nearest_territory_id: int | None
    nearest_territory: str | None
    boundary_distance_m: float | None
    within_buffer: bool
    overlaps: list[tuple[int, str, str, float]]
    case_id: int | None
    case_status: str | None
    geometry: bytes


# ---------------------------------------------------------------- accounts


@dataclass(frozen=True)
class UserRecord:
    """An account of the workspace's web app: its name (as typed), role, Argon2id hash
    (PHC string), whether it may log in, and when and by whom it was made (UTC)."""

    id: int
    name: str
    role: str
    password_hash: str
    active: bool
    created_at: datetime
    created_by: str
    disabled_at: datetime | None


@dataclass(frozen=True)
class SessionRecord:
    """A server-side session: the SHA-256 of its token (the token is never stored), its
    account, CSRF token, when it began, was last used and ends (UTC), and the client
    address it began from."""

    token_hash: str
    user: UserRecord
    csrf_token: str
    created_at: datetime
    last_seen: datetime
    expires_at: datetime
    address: str | None


@dataclass(frozen=True)
class AuditRecord:
    """One write that is not a case event: who (``actor``), when (UTC), what
    (``action``, e.g. ``patrol.plan``), on what (``target``), details and the client
    address (None from the command line)."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    detail: dict[str, Any]
    address: str | None


# ---------------------------------------------------------------- context


@dataclass(frozen=True)
class CoverageRecord:
    """Where one imported context layer was mapped (``context_coverages``).

    ``import_id`` is its ``layer_imports`` row, ``kind`` the layer's kind,
    ``origin`` ``"extent"`` (the convex hull of its features plus a margin) or
    ``"file"`` (an area the user gave, named by ``source``), ``geometry`` a
    polygon or multipolygon in EPSG:4326.
    """

    import_id: int
    kind: str
    origin: str
    source: str | None
    geometry: Any


# ---------------------------------------------------------------- training


@dataclass(frozen=True)
class ModelRecord:
    """A stored driver model (``classifier_models``).

    ``created_at`` is timezone-aware UTC; ``params`` and ``metrics`` are JSON
    objects; ``blob`` is the serialised model, None when it was not read
    (``store.models.list``) or the kind has none.
    """

    id: int
    version: str
    kind: str
    created_at: datetime
    n_labels: int
    params: dict[str, Any]
    metrics: dict[str, Any]
    active: bool
    blob: bytes | None = None


# -------------------------------------------------------------------- risk


@dataclass(frozen=True)
class RiskAssessmentRecord:
    """A stored risk assessment: its date (``as_of``), its ``unit`` ("territory" or
    "district"), when it was made (UTC) and how many units it scored."""

    id: int
    as_of: date
    unit: str
    created_at: datetime
    units: int


@dataclass(frozen=True)
class RiskScoreRecord:
    """The stored score (0-100) of one unit in one assessment.

    ``unit_key`` names the unit (a territory id or a district code), ``name`` is
    its name, ``territory_id`` the territory it is (None for districts);
    ``rank`` 1 is the highest risk; ``contributions`` is the JSON of the factors.
    """

    assessment_id: int
    unit_key: str
    name: str | None
    territory_id: int | None
    score: float
    risk_class: str
    rank: int
    contributions: Any


# ------------------------------------------------------------------- cases


@dataclass(frozen=True)
class PatrolPlanRecord:
    """A stored patrol plan of one territory: the ``params`` it was made with and the
    ``plan`` (stops, totals, skipped cases) as JSON, its route as WKB lon/lat (None
    when it has none), when it was made (UTC)."""

    id: int
    territory_id: int
    created_at: datetime
    params: dict[str, Any]
    plan: dict[str, Any]
    route: bytes | None


# ------------------------------------------------------------------- field


@dataclass(frozen=True)
class FieldFileRecord:
    """A field file kept byte for byte: its SHA-256, size (bytes), the name it came
    with, where it is kept (relative to the workspace folder), its role ("original",
    "data", "attachment"), the path it was imported from and when (UTC)."""

    sha256: str
    size: int
    name: str
    stored_path: str
    role: str
    source: str
    imported_at: datetime


# ------------------------------------------------------------------- custody


@dataclass(frozen=True)
class CustodyKeyRecord:
    """A public key that signs the custody log: its id, algorithm ("ed25519"), the key
    (32 bytes as hex) and when the workspace first used it (UTC)."""

    key_id: str
    algorithm: str
    public_key: str
    created_at: datetime


@dataclass(frozen=True)
class DerivedFileRecord:
    """A copy made from a kept field file: the original's SHA-256, the kind of copy
    ("resized", "stripped"), its longest side in pixels (``max_px``; 0 = full size),
    the copy's SHA-256, size (bytes), width and height (pixels), where it is kept
    (relative to the workspace folder) and when it was made (UTC)."""

    original_sha256: str
    kind: str
    max_px: int
    sha256: str
    size: int
    width: int
    height: int
    stored_path: str
    created_at: datetime


@dataclass(frozen=True)
class ObservationRecord:
    """A stored field observation (sensitive: its exact place never leaves the workspace).

    ``key`` identifies the record across imports (format + file + record hash);
    ``case_id`` is the case it attached to, ``distance_m`` how far from it;
    ``kind`` and ``verdict`` are the values of
    :class:`~vigilancia.domain.field.ObservationKind` and
    :class:`~vigilancia.domain.field.Verdict`; ``lon``/``lat`` a point on it
    (degrees), ``geometry`` and ``footprint`` WKB lon/lat; timestamps UTC;
    ``attachments`` lists ``{name, sha256}``.
    """

    id: int
    key: str
    case_id: int | None
    distance_m: float | None
    source_format: str
    source_file: str
    file_sha256: str | None
    record_id: str
    kind: str
    lon: float | None
    lat: float | None
    geometry: bytes | None
    footprint: bytes | None
    observed_at: datetime | None
    end_at: datetime | None
    altitude_m: float | None
    accuracy_m: float | None
    verdict: str | None
    notes: str | None
    attributes: dict[str, Any] | None
    attachments: list[dict[str, Any]] | None
    imported_at: datetime


# ------------------------------------------------------------------ codecs


def as_date(value: Any) -> date | None:
    """A stored date (``date``, ISO text or None) as a ``date``."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def aware(value: datetime) -> datetime:
    """A stored timestamp as timezone-aware UTC (SQLite returns naive ones)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def nullable_ids(values: NDArray[np.integer]) -> list[Any]:
    """Ids as Python ints, None where negative (no id)."""
    v = np.asarray(values, np.int64)
    out = v.astype(object)
    out[v < 0] = None
    return list(out.tolist())


def batch_record(row: sa.Row[Any]) -> BatchRecord:
    return BatchRecord(
        id=int(row.id),
        key=row.key,
        source=row.source,
        product=row.product,
        since=row.since,
        until=row.until,
        min_confidence=row.min_confidence,
        sha256=row.sha256,
        n_pixels=int(row.n_pixels),
        n_clearings=int(row.n_clearings),
        area_ha=float(row.area_ha),
        stats=dict(row.stats or {}),
        created_at=aware(row.created_at),
        series=str(row.series or row.product),
        steps=tuple(row.steps or ()),
    )


def model_record(row: sa.Row[Any], *, with_blob: bool) -> ModelRecord:
    blob = row.model if with_blob else None
    return ModelRecord(
        id=int(row.id),
        version=str(row.version),
        kind=str(row.kind),
        created_at=aware(row.created_at),
        n_labels=int(row.n_labels),
        params=dict(row.params or {}),
        metrics=dict(row.metrics or {}),
        active=bool(row.active),
        blob=None if blob is None else bytes(blob),
    )


def corridor_run(row: sa.Row[Any]) -> CorridorRun:
    from vigilancia.domain.routes import CorridorRun

    created = row.created_at
    if isinstance(created, str):
        created = datetime.fromisoformat(created)
    return CorridorRun(
        id=int(row.id),
        created_at=created,
        as_of=as_date(row.as_of),
        params=dict(row.params or {}),
        summary=dict(row.summary or {}),
    )


def risk_assessment(row: sa.Row[Any]) -> RiskAssessmentRecord:
    return RiskAssessmentRecord(
        id=int(row.id),
        as_of=row.as_of,
        unit=str(row.unit),
        created_at=aware(row.created_at),
        units=int(row.units),
    )


def risk_score(row: sa.Row[Any]) -> RiskScoreRecord:
    return RiskScoreRecord(
        assessment_id=int(row.assessment_id),
        unit_key=str(row.unit_key),
        name=row.name,
        territory_id=None if row.territory_id is None else int(row.territory_id),
        score=float(row.score),
        risk_class=str(row.risk_class),
        rank=int(row.rank),
        contributions=row.contributions,
    )


def case_values(case: Case) -> dict[str, Any]:
    """The ``cases`` columns of ``case`` (all but its id)."""
    return {
        "status": CaseStatus(case.status).value,
        "origin": case.origin.value,
        "territory_id": case.territory_id,
        "lon": float(case.lon),
        "lat": float(case.lat),
        "priority": float(case.priority),
        "priority_terms": [
            {"name": t.name, "points": t.points, "value": t.value} for t in case.priority_terms
        ],
        "area_ha": float(case.area_ha),
        "first_alert": case.first_alert,
        "last_alert": case.last_alert,
        "driver": None if case.driver is None else case.driver.value,
        "driver_probability": case.driver_probability,
        "assignee": case.assignee,
        "verdict": None if case.verdict is None else case.verdict.value,
        "note": case.note,
        "geometry": None if case.geometry is None else shapely.to_wkb(case.geometry),
        "created_at": case.created_at,
        "updated_at": case.updated_at,
    }


def case_from_row(row: sa.Row[Any], clearing_ids: tuple[int, ...]) -> Case:
    return Case(
        id=int(row.id),
        status=CaseStatus(row.status),
        origin=CaseOrigin(row.origin),
        territory_id=row.territory_id,
        lon=float(row.lon),
        lat=float(row.lat),
        priority=float(row.priority),
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
        clearing_ids=clearing_ids,
        geometry=None if row.geometry is None else shapely.from_wkb(row.geometry),
        area_ha=float(row.area_ha),
        first_alert=as_date(row.first_alert),
        last_alert=as_date(row.last_alert),
        driver=None if row.driver is None else Driver(row.driver),
        driver_probability=row.driver_probability,
        priority_terms=tuple(
            PriorityTerm(str(t["name"]), float(t["points"]), float(t["value"]))
            for t in (row.priority_terms or [])
        ),
        assignee=row.assignee,
        verdict=None if row.verdict is None else Verdict(row.verdict),
        note=row.note,
    )


def case_event_values(event: CaseEvent) -> dict[str, Any]:
    """The ``case_events`` columns of ``event`` (all but its id)."""
    return {
        "case_id": int(event.case_id),
        "at": event.at,
        "actor": event.actor,
        "action": event.action,
        "from_status": None if event.from_status is None else CaseStatus(event.from_status).value,
        "to_status": None if event.to_status is None else CaseStatus(event.to_status).value,
        "detail": dict(event.detail) or None,
    }


def case_event(row: sa.Row[Any]) -> CaseEvent:
    return CaseEvent(
        case_id=int(row.case_id),
        at=aware(row.at),
        actor=row.actor,
        action=row.action,
        from_status=None if row.from_status is None else CaseStatus(row.from_status),
        to_status=None if row.to_status is None else CaseStatus(row.to_status),
        detail=dict(row.detail or {}),
        id=int(row.id),
    )


def patrol_plan(row: sa.Row[Any]) -> PatrolPlanRecord:
    return PatrolPlanRecord(
        id=int(row.id),
        territory_id=int(row.territory_id),
        created_at=aware(row.created_at),
        params=dict(row.params or {}),
        plan=dict(row.plan),
        route=None if row.route is None else bytes(row.route),
    )


def field_file(row: sa.Row[Any]) -> FieldFileRecord:
    return FieldFileRecord(
        sha256=str(row.sha256),
        size=int(row.size),
        name=str(row.name),
        stored_path=str(row.stored_path),
        role=str(row.role),
        source=str(row.source),
        imported_at=aware(row.imported_at),
    )


def observation(row: sa.Row[Any]) -> ObservationRecord:
    return ObservationRecord(
        id=int(row.id),
        key=str(row.key),
        case_id=None if row.case_id is None else int(row.case_id),
        distance_m=row.distance_m,
        source_format=str(row.source_format),
        source_file=str(row.source_file),
        file_sha256=row.file_sha256,
        record_id=str(row.record_id),
        kind=str(row.kind),
        lon=row.lon,
        lat=row.lat,
        geometry=None if row.geometry is None else bytes(row.geometry),
        footprint=None if row.footprint is None else bytes(row.footprint),
        observed_at=None if row.observed_at is None else aware(row.observed_at),
        end_at=None if row.end_at is None else aware(row.end_at),
        altitude_m=row.altitude_m,
        accuracy_m=row.accuracy_m,
        verdict=row.verdict,
        notes=row.notes,
        attributes=row.attributes,
        attachments=row.attachments,
        imported_at=aware(row.imported_at),
    )


def user_record(row: sa.Row[Any]) -> UserRecord:
    return UserRecord(
        id=int(row.id),
        name=str(row.name),
        role=str(row.role),
        password_hash=str(row.password_hash),
        active=bool(row.active),
        created_at=aware(row.created_at),
        created_by=str(row.created_by),
        disabled_at=None if row.disabled_at is None else aware(row.disabled_at),
    )


def audit_record(row: sa.Row[Any]) -> AuditRecord:
    return AuditRecord(
        id=int(row.id),
        at=aware(row.at),
        actor=str(row.actor),
        action=str(row.action),
        target=row.target,
        detail=dict(row.detail or {}),
        address=row.address,
    )


def custody_entry_values(entry: CustodyEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": format_at(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "case_id": entry.case_id,
        "sha256s": json.dumps(list(entry.sha256s), separators=(",", ":")),
        "reason": entry.reason,
        "recipient": entry.recipient,
        "prev_hash": entry.prev_hash,
        "entry_hash": entry.entry_hash,
        "signature": entry.signature,
        "key_id": entry.key_id,
    }


def custody_entry(row: sa.Row[Any]) -> CustodyEntry:
    """An entry as stored, whatever it holds (a damaged row reads as an altered entry)."""
    try:
        shas = json.loads(row.sha256s)
        sha256s = tuple(str(v) for v in shas) if isinstance(shas, list) else (str(shas),)
    except ValueError:
        sha256s = (str(row.sha256s),)
    try:
        at = parse_at(str(row.at))
    except ValueError:
        at = datetime.min.replace(tzinfo=UTC)
    return CustodyEntry(
        seq=int(row.seq),
        at=at,
        actor=str(row.actor),
        action=str(row.action),
        case_id=None if row.case_id is None else int(row.case_id),
        sha256s=sha256s,
        reason=str(row.reason),
        prev_hash=str(row.prev_hash),
        entry_hash=str(row.entry_hash),
        signature=str(row.signature),
        key_id=str(row.key_id),
        recipient=None if row.recipient is None else str(row.recipient),
    )


def custody_key(row: sa.Row[Any]) -> CustodyKeyRecord:
    return CustodyKeyRecord(
        key_id=str(row.key_id),
        algorithm=str(row.algorithm),
        public_key=str(row.public_key),
        created_at=aware(row.created_at),
    )


def derived_file(row: sa.Row[Any]) -> DerivedFileRecord:
    return DerivedFileRecord(
        original_sha256=str(row.original_sha256),
        kind=str(row.kind),
        max_px=int(row.max_px),
        sha256=str(row.sha256),
        size=int(row.size),
        width=int(row.width),
        height=int(row.height),
        stored_path=str(row.stored_path),
        created_at=aware(row.created_at),
    )
