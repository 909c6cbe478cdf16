"""Stored field observations and evidence files as a person or a program reads them.

Read models shared by :func:`vigilancia.services.field.list_observations` and
:func:`vigilancia.services.cases.show_case`. No geometry leaves these records: an
observation keeps only its representative ``lon``/``lat`` (left out of ``to_dict``:
report points and tracks are sensitive) and, for a track, its number of points.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import shapely
from sqlalchemy.engine import Connection

from vigilancia.domain.field import ObservationKind, Verdict
from vigilancia.io.store import ObservationRecord, WorkspaceStore

__all__ = ["EvidenceFile", "StoredObservation", "evidence_files", "stored_observations"]


@dataclass(frozen=True)
class StoredObservation:
    """One stored observation (no geometry: only its representative ``lon``/``lat``, and
    ``points`` for a track). ``distance_m``: to its case (m); ``attachments``: files."""

    id: int
    source_format: str
    source_file: str
    record_id: str
    kind: ObservationKind
    observed_at: datetime | None
    case_code: str | None
    distance_m: float | None
    verdict: Verdict | None
    lon: float | None
    lat: float | None
    points: int
    attachments: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, without the position (``lon``/``lat`` stay out)."""
        return {
            "id": self.id,
            "format": self.source_format,
            "kind": self.kind,
            "source_file": self.source_file,
            "record": self.record_id,
            "observed_at": self.observed_at,
            "case": self.case_code,
            "distance_m": self.distance_m,
            "verdict": self.verdict,
            "points": self.points,
            "attachments": self.attachments,
        }


@dataclass(frozen=True)
class EvidenceFile:
    """A field file kept byte for byte as evidence: its SHA-256, size (bytes), name, role
    (data, photo...), where it is kept in the workspace (``stored_path``), the path it was
    imported from and when."""

    sha256: str
    name: str
    size: int
    role: str
    stored_path: str
    source: str | None
    imported_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "sha256": self.sha256,
            "name": self.name,
            "size": self.size,
            "role": self.role,
            "stored_path": self.stored_path,
            "source": self.source,
            "imported_at": self.imported_at,
        }


def stored_observations(rows: Iterable[ObservationRecord]) -> list[StoredObservation]:
    """Observations from ``store.observations``, by time then id (tracks summarised by
    their point count)."""
    out = []
    for r in rows:
        points = 1 if r.lon is not None else 0
        if r.kind == ObservationKind.TRACK.value and r.geometry is not None:
            points = int(shapely.get_num_coordinates(shapely.from_wkb(r.geometry)))
        out.append(StoredObservation(
            id=r.id, source_format=r.source_format, source_file=r.source_file,
            record_id=r.record_id, kind=ObservationKind(r.kind),
            observed_at=r.observed_at,
            case_code=None if r.case_id is None else f"C-{r.case_id:04d}",
            distance_m=r.distance_m,
            verdict=None if r.verdict is None else Verdict(r.verdict),
            lon=r.lon, lat=r.lat, points=points,
            attachments=len(r.attachments or []),
        ))
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(out, key=lambda o: (o.observed_at or far, o.id))


def evidence_files(store: WorkspaceStore, rows: Sequence[ObservationRecord], *,
                   conn: Connection | None = None) -> list[EvidenceFile]:
    """The kept files of the observations ``rows`` (from ``store.observations``): the
    files they came in and their attachments, by import time then name (read in
    ``conn``'s transaction when given)."""
    shas = {r.file_sha256 for r in rows if r.file_sha256}
    for r in rows:
        shas.update(str(a["sha256"]) for a in r.attachments or [] if a.get("sha256"))
    if not shas:
        return []
    return [
        EvidenceFile(sha256=f.sha256, name=f.name, size=f.size, role=f.role,
                     stored_path=f.stored_path, source=f.source, imported_at=f.imported_at)
        for f in store.field_files.list(sorted(shas), conn=conn)
    ]
