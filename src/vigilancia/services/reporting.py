"""What every report shares: the content hash, the issue (time and custody chain head),
writing the document and recording it in the custody log.

A report's service (:mod:`~vigilancia.services.case_report`,
:mod:`~vigilancia.services.bulletin`, :mod:`~vigilancia.services.trends`) gathers a
result object that holds everything the report states. :func:`issue_report` then:

1. reads the head of the custody chain (the last entry of the workspace's custody log);
2. has the renderer it is given (:data:`Renderer`, from :mod:`vigilancia.reports`) draw
   the document from the result and the :class:`Issue` (time, chain head);
3. in one transaction, records a ``report`` entry in the custody log whose hashes are
   the report's content hash and the document's SHA-256, and writes the document (under
   a temporary name, moved into place, owner-only): a failure leaves neither.

**Content hash.** The SHA-256 of the report's *content document*: the result's
:meth:`content` (every fact the report states: figures, dates, names, coordinates,
geometry of the case rounded to 1e-7 degrees, the hashes of the evidence files,
imagery and thumbnails shown, the custody entries of the case other than ``report``
entries, the addressee and the language) written as canonical JSON (keys sorted, no
spaces, UTF-8, no NaN; see :func:`content_bytes`). It leaves out what changes from one
build to the next of the same data: the time of issue, the chain head at issue, earlier
``report`` entries (an issued report is part of the record of issues, not of the
case), the software version, and the presentation (template wording, fonts, layout).
The PDF carries the content document as an embedded file (``contenido.json``), so anyone
can extract it and recompute the hash (``pdfdetach -save 1 informe.pdf`` then
``sha256sum contenido.json``). Rebuilding a report from the same data gives the same
content hash; the same content and the same issue give byte-identical documents (no
clock, random id or file time enters them).

>>> content_hash({"b": [1, 2.5], "a": "ñ"}) == content_hash({"a": "ñ", "b": [1, 2.5]})
True
>>> content_bytes({"b": 1, "a": "ñ"})
b'{"a":"\\xc3\\xb1","b":1}'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from vigilancia import __version__
from vigilancia.config import Settings
from vigilancia.domain.field import decimal_to_dms
from vigilancia.domain.risk import Contribution, Factor, RiskClass, RiskScore
from vigilancia.errors import ConflictError, InputError
from vigilancia.i18n import _
from vigilancia.io.crs import to_utm
from vigilancia.io.files import replace_bytes
from vigilancia.io.store import RiskScoreRecord, WorkspaceStore
from vigilancia.results import jsonable
from vigilancia.services import custody

__all__ = [
    "REPORT_FORMAT",
    "Coordinates",
    "CustodyLine",
    "Issue",
    "IssuedReport",
    "Renderer",
    "Report",
    "content_bytes",
    "content_hash",
    "coordinates",
    "factors_of",
    "issue_report",
    "month_range",
    "parse_month",
    "stored_score",
]

#: Version of the content document's layout (its ``format`` field).
REPORT_FORMAT = "vigilancia.report/1"
#: Degrees kept in the content of coordinates and geometry (1e-7 degrees: about 1 cm).
DEGREE_DIGITS = 7


def content_bytes(content: Mapping[str, Any]) -> bytes:
    """Canonical JSON of a content document: keys sorted, no spaces, UTF-8, dates as ISO
    text (:func:`vigilancia.results.jsonable`), NaN refused."""
    return json.dumps(jsonable(content), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False).encode("utf-8")


def content_hash(content: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of :func:`content_bytes`."""
    return hashlib.sha256(content_bytes(content)).hexdigest()


class Report(Protocol):
    """A report's result object: its ``kind`` (case, bulletin, trends), the case it is
    about (None for the others), a title, and its content document (see the module)."""

    kind: str

    @property
    def case_id(self) -> int | None: ...

    @property
    def title(self) -> str: ...

    def content(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Issue:
    """When a report was issued and the custody chain head at that moment (the last entry
    of the log: its number ``chain_seq`` and hash ``chain_hash``; None while the log is
    empty). Not part of the content hash."""

    issued_at: datetime
    chain_seq: int | None
    chain_hash: str | None
    generator: str = f"vigilancia {__version__}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"issued_at": self.issued_at, "chain_head": None if self.chain_seq is None
                else {"seq": self.chain_seq, "hash": self.chain_hash},
                "generator": self.generator}


Renderer = Callable[[Any, Issue], bytes]
"""Draws a report: its result object and issue in, the document's bytes out (the
renderers of :mod:`vigilancia.reports`)."""


@dataclass(frozen=True)
class IssuedReport:
    """A report written: its kind and format, where (None when only returned), its content
    hash, the document's SHA-256 and size (bytes), the issue, and the number of its entry
    in the custody log (None where the workspace keeps no custody log)."""

    kind: str
    format: str
    path: Path | None
    content_hash: str
    document_sha256: str
    size: int
    issue: Issue
    custody_seq: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"kind": self.kind, "format": self.format, "path": self.path,
                "content_hash": self.content_hash, "document_sha256": self.document_sha256,
                "size": self.size, "issue": self.issue, "custody_seq": self.custody_seq}


@dataclass(frozen=True)
class CustodyLine:
    """One entry of the custody log as a report shows it: number, time (UTC), action, the
    hashes it concerns, the reason, to whom the evidence went (a handover: an authority),
    the entry's hash and the signing key's id. Who acted is left out: the log holds it
    (covered by the entry's hash and signature), reports meant for outside never name
    the people who handled the evidence."""

    seq: int
    at: datetime
    action: str
    sha256s: tuple[str, ...]
    reason: str
    entry_hash: str
    key_id: str
    recipient: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"seq": self.seq, "at": self.at, "action": self.action,
                "sha256s": list(self.sha256s), "reason": self.reason,
                "recipient": self.recipient, "entry_hash": self.entry_hash,
                "key_id": self.key_id}


# ------------------------------------------------------------------ custody
# The custody log lives in :mod:`vigilancia.services.custody`; these three functions are
# the reports' way to it.


def custody_head(store: WorkspaceStore) -> tuple[int, str] | None:
    """The head of the workspace's custody chain: (number, hash) of its last entry."""
    head = custody.chain_head(store)
    return None if head is None else (int(head.seq), str(head.hash))


def custody_lines(store: WorkspaceStore, case_id: int) -> list[CustodyLine]:
    """The custody log of one case, oldest first, as reports show it."""
    return [
        CustodyLine(seq=int(e.seq), at=e.at, action=str(e.action),
                    sha256s=tuple(e.sha256s), reason=str(e.reason),
                    entry_hash=str(e.entry_hash), key_id=str(e.key_id),
                    recipient=e.recipient)
        for e in custody.case_custody(store, case_id)
    ]


def _record(store: WorkspaceStore, conn: Any, settings: Settings, *, actor: str,
            reason: str, case_id: int | None, sha256s: Iterable[str]) -> int:
    entry = custody.record_custody(store, conn, action="report", actor=actor, reason=reason,
                                   case_id=case_id, sha256s=tuple(sha256s), settings=settings)
    return int(entry.seq)


# ------------------------------------------------------------------- issuing


def issue_report(
    store: WorkspaceStore,
    settings: Settings,
    report: Report,
    *,
    render: Renderer,
    output: Path | None,
    actor: str,
    fmt: str = "pdf",
    overwrite: bool = False,
    now: datetime | None = None,
) -> tuple[IssuedReport, bytes]:
    """Draw ``report`` with ``render`` and record it (see the module text); write it to
    ``output`` when given. Returns what was issued and the document's bytes.

    An existing ``output`` is replaced only with ``overwrite``
    (:class:`~vigilancia.errors.ConflictError` otherwise, before anything is drawn).
    """
    if output is not None:
        output = Path(output)
        if output.is_dir():
            raise InputError(_("{path} is a folder", path=output),
                             hint=_("give the name of the file to write"), source=str(output))
        if output.exists() and not overwrite:
            raise ConflictError(_("{path} already exists", path=output),
                                hint=_("give another name, or replace it"), inputs="overwrite")
    head = custody_head(store)
    issue = Issue(
        issued_at=(now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0),
        chain_seq=None if head is None else head[0],
        chain_hash=None if head is None else head[1],
    )
    data = render(report, issue)
    digest = hashlib.sha256(data).hexdigest()
    chash = content_hash(report.content())
    reason = _("report issued: {title}", title=report.title)
    written = False
    try:
        with store.transaction() as conn:
            seq = _record(store, conn, settings, actor=actor, reason=reason,
                          case_id=report.case_id, sha256s=(chash, digest))
            if output is not None:
                output.parent.mkdir(parents=True, exist_ok=True)
                replace_bytes(output, data)
                written = True
    except BaseException:
        if written and output is not None:  # the file this call wrote, never another
            output.unlink(missing_ok=True)
        raise
    return IssuedReport(kind=report.kind, format=fmt, path=output, content_hash=chash,
                        document_sha256=digest, size=len(data), issue=issue,
                        custody_seq=seq), data


# --------------------------------------------------------------- shared facts


@dataclass(frozen=True)
class Coordinates:
    """A point in the three forms a report gives: decimal degrees (lon, lat), degrees
    minutes seconds, and UTM (zone, hemisphere, easting and northing in metres, WGS 84)."""

    lon: float
    lat: float
    lat_dms: str
    lon_dms: str
    utm_zone: int
    utm_hemisphere: str
    easting: float
    northing: float

    @property
    def utm_epsg(self) -> int:
        """EPSG code of the UTM zone (32718 for 18S)."""
        return (32700 if self.utm_hemisphere == "S" else 32600) + self.utm_zone

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"lon": self.lon, "lat": self.lat, "lat_dms": self.lat_dms,
                "lon_dms": self.lon_dms, "utm_zone": f"{self.utm_zone}{self.utm_hemisphere}",
                "utm_epsg": self.utm_epsg, "easting": self.easting, "northing": self.northing}


def _dms(value: float, axis: str) -> str:
    d, m, s, ref = decimal_to_dms(value, axis=axis)
    s = round(s, 2)
    if s >= 60.0:  # 59.996" rounds up
        s, m = 0.0, m + 1
        if m == 60:
            m, d = 0, d + 1
    return f"{d}°{m:02d}'{s:05.2f}\" {ref}"


def coordinates(lon: float, lat: float) -> Coordinates:
    """A point (degrees) in decimal degrees (7 decimals), DMS (hundredths of a second) and
    UTM (whole metres, in the zone the point falls in).

    >>> c = coordinates(-74.96, -9.38)
    >>> c.lat_dms, c.lon_dms, c.utm_zone, c.utm_hemisphere, c.easting, c.northing
    ('9°22\\'48.00" S', '74°57\\'36.00" W', 18, 'S', 504392.0, 8963135.0)
    """
    zone, hemisphere, x, y = to_utm(lon, lat)
    return Coordinates(lon=round(lon, DEGREE_DIGITS), lat=round(lat, DEGREE_DIGITS),
                       lat_dms=_dms(lat, "lat"), lon_dms=_dms(lon, "lon"), utm_zone=zone,
                       utm_hemisphere=hemisphere, easting=float(round(x)),
                       northing=float(round(y)))


def parse_month(text: str) -> date:
    """The first day of a month given as ``YYYY-MM``.

    >>> parse_month("2024-07")
    datetime.date(2024, 7, 1)
    """
    try:
        found = datetime.strptime(str(text).strip(), "%Y-%m").date()
    except ValueError:
        raise InputError(_("{value!r} is not a month as YYYY-MM", value=text),
                         hint=_("give the month as year and month, e.g. 2024-07"),
                         inputs="month") from None
    return found


def month_range(first: date, months: int = 1) -> tuple[date, date]:
    """The first and the last day of the ``months`` months that start at ``first``'s month.

    >>> month_range(date(2024, 2, 1))
    (datetime.date(2024, 2, 1), datetime.date(2024, 2, 29))
    >>> month_range(date(2024, 11, 1), 3)
    (datetime.date(2024, 11, 1), datetime.date(2025, 1, 31))
    """
    start = first.replace(day=1)
    k = start.year * 12 + start.month - 1 + months
    after = date(k // 12, k % 12 + 1, 1)
    return start, after - timedelta(days=1)


def add_months(first: date, months: int) -> date:
    """The first day of the month ``months`` after (or before, when negative) ``first``'s.

    >>> add_months(date(2024, 1, 15), -1), add_months(date(2024, 12, 1), 1)
    (datetime.date(2023, 12, 1), datetime.date(2025, 1, 1))
    """
    k = first.year * 12 + first.month - 1 + months
    return date(k // 12, k % 12 + 1, 1)


def factors_of(row: RiskScoreRecord) -> list[dict[str, Any]]:
    """The stored contributions of a score (``{"coverage", "factors": [...]}`` or a list)."""
    stored = row.contributions or []
    if isinstance(stored, dict):
        stored = stored.get("factors") or []
    return [c for c in stored if isinstance(c, dict)]


def stored_score(row: RiskScoreRecord) -> RiskScore:
    """A stored score back as a domain score (to explain it)."""
    contributions = []
    for c in factors_of(row):
        try:
            factor = Factor(c["factor"])
        except (KeyError, ValueError):
            continue
        contributions.append(Contribution(
            factor=factor, available=bool(c.get("available", True)), value=c.get("value"),
            level=float(c.get("level") or 0.0), weight=float(c.get("weight") or 0.0),
            points=float(c.get("points") or 0.0), source=str(c.get("source") or ""),
            detail=dict(c.get("detail") or {})))
    stored = row.contributions if isinstance(row.contributions, dict) else {}
    weights = sum(c.weight for c in contributions)
    coverage = float(stored.get("coverage") or (
        sum(c.weight for c in contributions if c.available) / weights if weights else 1.0))
    return RiskScore(key=row.unit_key, name=row.name or "", contributions=tuple(contributions),
                     score=row.score, coverage=coverage, risk_class=RiskClass(row.risk_class),
                     rank=row.rank)
