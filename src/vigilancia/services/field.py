"""Field data into the workspace: keep every file, store observations, attach them to cases.

:func:`import_field` reads what patrols bring back (CoMapeo/Mapeo exports, ODK
Central and KoboToolbox downloads, GPX, KML/KMZ, phone and drone photos) with
the importers of :mod:`vigilancia.io.field`, and then:

1. **Keeps every file byte for byte** in the workspace's evidence folder,
   content-addressed: ``<workspace>/evidencia/<sha[:2]>/<sha256><suffix>``.
   Each copy is written to a temporary file, flushed to disk, checked against
   its SHA-256, made read-only and only then renamed into place; a file that
   is already there is never overwritten (its hash is checked instead). The
   files are listed in ``field_files``, and each new one gets a signed intake
   entry in the custody log (:mod:`vigilancia.services.custody`) in the same
   transaction.
2. **Stores each observation once**, under a stable key: the SHA-256 of its
   format, the data file it came in and its record id. CoMapeo document ids and
   ODK/Kobo instance ids are unique world-wide, so for those the key leaves the
   file out: a later, cumulative download of the same form adds only the new
   submissions. Re-importing the same files adds nothing.
3. **Attaches it to a case**:

   a. the case it names (an ODK verification form's ``case_id``, picked from
      the package's ``casos.csv``; a ``case_id``/``caso`` tag in CoMapeo or
      KML), with the distance recorded; an unknown case is a warning and the
      observation is matched by position instead;
   b. else the nearest open case within ``field_match_m`` metres of it
      (geodesic distance to the case's clearings, or to its point), preferring
      cases whose first alert came before the observation; when no open case
      is that near, the nearest verified or reported one (photos taken after
      the visit that verified it, a second visit);
   c. else, for a real field report (a verdict, notes or a phone photo), a new
      case with origin ``field`` in the community territory that contains it.

   Tracks (GPX tracks and routes, CoMapeo tracks, KML lines) are patrol
   evidence: they attach to no case, but every open case a recorded track
   (one with times; never a route or a drawn line) passed within
   ``field_match_m`` gets a ``track_passed`` event and is listed in the
   result. A bare waypoint with nothing else near no case attaches to nothing,
   and a case's own marker from a package (``casos.gpx``: named by the code,
   no time, on the case's point) attaches to nothing either.
4. **Applies verdicts** through :func:`vigilancia.services.cases.update_case`
   (the case becomes verified, or goes back for "not reached", and its
   clearings get training labels). A verdict a case already has adds nothing;
   a different one on a verified case corrects it; one the status machine
   refuses (a closed case) is a warning and the observation is still stored.

Everything stored in the database happens in one transaction: a failure
leaves the workspace as it was, and a re-run after a crash reuses the evidence
files already written. Broken paths are reported by name and the rest import.

>>> res = import_field(store, Settings(), ["visitas.zip"], actor="ana")  # doctest: +SKIP
>>> res.observations_added, [c.code for c in res.cases]  # doctest: +SKIP
(12, ['C-0003', 'C-0007'])
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import shapely
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy.engine import Connection

from vigilancia.config import Settings
from vigilancia.domain.cases import (
    OPEN_STATUSES,
    Case,
    CaseEvent,
    CaseOrigin,
    CaseStatus,
    case_priority,
    shared_position,
    verdict_driver,
)
from vigilancia.domain.field import (
    FieldFile,
    FieldImport,
    FieldObservation,
    FileRole,
    ObservationKind,
    Verdict,
)
from vigilancia.domain.territories import StoredTerritory, unit_order, units
from vigilancia.errors import ConflictError, InputError, NotFoundError
from vigilancia.i18n import _, ngettext, number
from vigilancia.io.crs import WGS84, local_equal_area, transform_geometries
from vigilancia.io.evidence import EVIDENCE_DIR, check_kept, keep_bytes
from vigilancia.io.field import ImportOptions, read_field_file, read_many
from vigilancia.io.field.common import ImportBudget, parse_utc_offset
from vigilancia.io.files import remove_leftovers
from vigilancia.io.store import WorkspaceStore
from vigilancia.progress import Progress, no_progress
from vigilancia.services.cases import (
    parse_case_id,
    territory_risk_scores,
    update_case,
)
from vigilancia.services.custody import record_intake, start_custody
from vigilancia.services.observations import StoredObservation, stored_observations

__all__ = [
    "CASE_KEYS",
    "EVIDENCE_DIR",
    "SETTLED_STATUSES",
    "CaseTouched",
    "FieldImportResult",
    "FileProblem",
    "StoredObservation",
    "TrackPass",
    "evidence_path",
    "import_field",
    "list_observations",
    "observation_key",
]

#: Attribute names (case and accents as written, compared case-insensitively) that name a case.
CASE_KEYS = ("case_id", "caso", "case", "codigo_caso", "case_code", "id_caso")
#: Statuses of cases that take field evidence when no open case is near (never reopened).
SETTLED_STATUSES = frozenset({CaseStatus.VERIFIED, CaseStatus.REPORTED})
#: Kinds that attach to cases (tracks never do: they are patrol evidence).
_ATTACHING = frozenset({ObservationKind.POINT, ObservationKind.WAYPOINT, ObservationKind.PHOTO,
                        ObservationKind.FORM, ObservationKind.AREA})
#: Record ids that importers make up (row or feature numbers): unique only within their file.
_LOCAL_ID = re.compile(r"^(row|feature|placemark|wpt|trk|rte)-[\d-]+$|^\d+$")
#: Formats whose own record ids are unique world-wide (CoMapeo docId, ODK/Kobo instance id).
_GLOBAL_ID_FORMATS = frozenset({"comapeo", "odk"})
_CASE_CODE = re.compile(r"^\s*[Cc]-?\d{1,6}\s*$")
#: A case code inside a longer name ("C-0645 coca", "visita C-12"): with its hyphen.
_CASE_CODE_IN = re.compile(r"(?<![A-Za-z0-9])([Cc]-\d{1,6})(?![0-9])")
_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,10}$")


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileProblem:
    """A warning or failure about one path: ``source`` as given, ``message`` for a person,
    and the ``inputs`` of the import that would fix it (``"utc_offset"``), which each
    shell words its own way (see :mod:`vigilancia.errors`)."""

    source: str
    message: str
    inputs: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``source``, ``message`` and ``inputs`` (when there are any)."""
        out: dict[str, Any] = {"source": self.source, "message": self.message}
        if self.inputs:
            out["inputs"] = list(self.inputs)
        return out


@dataclass(frozen=True)
class CaseTouched:
    """A case that this import changed: its code, its status after the import,
    how many observations attached to it, the verdict applied (if any) and
    whether the import opened it."""

    case_id: int
    code: str
    status: CaseStatus
    observations: int = 0
    verdict: Verdict | None = None
    opened: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the case's code, status, observations, verdict and ``opened``."""
        return {"case": self.code, "status": self.status, "observations": self.observations,
                "verdict": self.verdict, "opened": self.opened}


@dataclass(frozen=True)
class TrackPass:
    """A track and the open cases it passed within ``field_match_m`` (codes, nearest first)."""

    source: str
    record_id: str
    cases: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``source``, ``record`` and the codes of the ``cases``."""
        return {"source": self.source, "record": self.record_id, "cases": list(self.cases)}


@dataclass(frozen=True)
class FieldImportResult:
    """What :func:`import_field` did.

    ``paths``: paths given; ``read``: files or exports read (a folder of photos
    counts each photo). ``files_kept``: files newly kept as evidence; ``files_known``: files that
    were already kept. ``observations_added``/``observations_skipped`` (already
    imported); ``attached``: new observations attached to a case;
    ``new_cases``: ids of the cases opened from field reports;
    ``verdicts_applied``: verdicts that changed a case; ``times_set``: observations
    imported earlier without a time that this import placed in time (their clock
    time had no zone, and the UTC offset was given now). ``cases``: every case
    touched, by id; ``tracks``: tracks and the cases they passed; ``warnings``
    and ``failures``: named by path (a failed path imported nothing).
    """

    paths: int
    read: int
    files_kept: int
    files_known: int
    observations_added: int
    observations_skipped: int
    attached: int
    new_cases: tuple[int, ...]
    verdicts_applied: int
    times_set: int = 0
    cases: tuple[CaseTouched, ...] = ()
    tracks: tuple[TrackPass, ...] = ()
    warnings: tuple[FileProblem, ...] = ()
    failures: tuple[FileProblem, ...] = ()

    @property
    def exit_code(self) -> int:
        """0 when anything could be read, 2 when every file failed."""
        return 2 if self.failures and self.read == 0 else 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the counts, new cases by code, cases touched, tracks, warnings
        and failures."""
        return {
            "paths": self.paths,
            "read": self.read,
            "files_kept": self.files_kept,
            "files_known": self.files_known,
            "observations_added": self.observations_added,
            "observations_skipped": self.observations_skipped,
            "attached": self.attached,
            "new_cases": [f"C-{c:04d}" for c in self.new_cases],
            "verdicts_applied": self.verdicts_applied,
            "times_set": self.times_set,
            "cases": list(self.cases),
            "tracks": list(self.tracks),
            "warnings": list(self.warnings),
            "failures": list(self.failures),
        }


# --------------------------------------------------------------------------------------
# Keys and evidence files
# --------------------------------------------------------------------------------------


def observation_key(source_format: str, file_sha256: str, record_id: str) -> str:
    """The stable key of an observation (64 hex digits).

    CoMapeo and ODK/Kobo record ids are unique world-wide: their key leaves the
    file out, so the same submission in a later download is the same
    observation. Other records are numbered within their file.

    >>> observation_key("gpx", "ab" * 32, "wpt-1") == observation_key("gpx", "ab" * 32, "wpt-1")
    True
    >>> observation_key("odk", "aa" * 32, "uuid:1") == observation_key("odk", "bb" * 32, "uuid:1")
    True
    """
    if source_format in _GLOBAL_ID_FORMATS and not _LOCAL_ID.match(record_id):
        text = f"{source_format}\0id\0{record_id}"
    else:
        text = f"{source_format}\0{file_sha256}\0{record_id}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def evidence_path(sha256: str, name: str) -> PurePosixPath:
    """Where a file is kept, relative to the workspace folder.

    >>> str(evidence_path("ab" + "0" * 62, "IMG_0001.JPG"))
    'evidencia/ab/ab00000000000000000000000000000000000000000000000000000000000000.JPG'
    """
    suffix = PurePosixPath(name.replace("\\", "/")).suffix
    if not _SUFFIX.match(suffix):
        suffix = ""
    return PurePosixPath(EVIDENCE_DIR) / sha256[:2] / f"{sha256}{suffix}"


#: Temporary copies that versions before the owner-only evidence made (``.tmp-XXXXXXXX.part``).
_OLD_PART = re.compile(r"^\.tmp-[A-Za-z0-9_]{8}\.part$")


def _evidence_leftovers(workspace: Path) -> int:
    """Remove the temporary copies that killed imports left in the evidence folder
    (vigilancia's own temporary names only, see :mod:`vigilancia.io.files`); how many."""
    folder = workspace / EVIDENCE_DIR
    if not folder.is_dir():
        return 0
    removed = len(remove_leftovers(folder, recursive=True))
    for sub in folder.iterdir():
        if not sub.is_dir() or sub.is_symlink():
            continue
        for entry in sub.iterdir():
            if _OLD_PART.match(entry.name) and entry.is_file() and not entry.is_symlink():
                entry.unlink(missing_ok=True)
                removed += 1
    return removed


def _keep_file(workspace: Path, ref: FieldFile) -> str:
    """Copy one file into the evidence folder (unless it is there); its path in the workspace.

    The copy is owner-only and read-only (0400) in owner-only folders (0700), written by
    :func:`vigilancia.io.evidence.keep_bytes`. Raises :class:`InputError` when the source
    bytes no longer match the hash the importer took (the file changed during the
    import) and :class:`StoreError` when the copy cannot be written or an existing copy
    does not match its name.
    """
    rel = evidence_path(ref.sha256, ref.name)
    if check_kept(workspace, rel, ref.sha256):
        return str(rel)
    data = read_field_file(ref)
    if hashlib.sha256(data).hexdigest() != ref.sha256:
        raise InputError(
            _("the file changed while it was being imported"),
            hint=_("wait until the copy from the phone or card has finished, then import again"),
            source=ref.name if ref.member is None else f"{ref.path}/{ref.member}",
        )
    keep_bytes(workspace, rel, data, ref.sha256, sweep=False)  # swept at the start
    return str(rel)


# --------------------------------------------------------------------------------------
# Distances
# --------------------------------------------------------------------------------------

_M_PER_DEG_LAT = 110_574.0


def _frame_centre(geom: BaseGeometry) -> tuple[float, float]:
    """A projection centre near ``geom``, rounded to 0.01 degrees so nearby records share it."""
    c = geom.centroid
    return round(float(c.x), 2), round(float(c.y), 2)


def _metres(geoms: Sequence[BaseGeometry], centre: tuple[float, float]) -> list[BaseGeometry]:
    crs = local_equal_area(*centre)
    return list(transform_geometries(list(geoms), WGS84, crs))


def _distances(geom: BaseGeometry, cases: Sequence[Case], max_m: float) -> list[tuple[Case, float]]:
    """Distance (m) from ``geom`` to each case within ``max_m`` (to its clearings or point).

    Measured in a Lambert azimuthal equal-area frame centred within about a
    kilometre of the record: for the few hundred metres that matter here the
    result is the geodesic distance to a few centimetres.
    """
    if not cases:
        return []
    minx, miny, maxx, maxy = geom.bounds
    lat = max(abs(miny), abs(maxy))
    dlat = max_m / _M_PER_DEG_LAT * 1.5 + 1e-6
    dlon = dlat / max(math.cos(math.radians(min(lat + dlat, 89.0))), 1e-3)
    near = [c for c in cases
            if shapely.intersects(shapely.box(minx - dlon, miny - dlat, maxx + dlon, maxy + dlat),
                                  c.shape.envelope)]
    if not near:
        return []
    centre = _frame_centre(geom)
    projected = _metres([geom, *(c.shape for c in near)], centre)
    here = projected[0]
    out = []
    for case, shape in zip(near, projected[1:], strict=True):
        d = float(here.distance(shape))
        if d <= max_m:
            out.append((case, d))
    return out


def _pick_case(options: Sequence[tuple[Case, float]], when: datetime | None
               ) -> tuple[Case, float] | None:
    """The case an observation belongs to: cases alerted before it first, then the nearest."""
    if not options:
        return None
    day = when.date() if when is not None else None

    def rank(item: tuple[Case, float]) -> tuple[int, float, int]:
        case, dist = item
        later = day is not None and case.first_alert is not None and case.first_alert > day
        return (1 if later else 0, dist, case.id)

    return min(options, key=rank)


# --------------------------------------------------------------------------------------
# The import
# --------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """A JSON-able copy of attribute values (tuples to lists, times to ISO text)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, bytes):
        return value.hex()
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return number if math.isfinite(number) else None


def _record_file(imp: FieldImport) -> tuple[str | None, str | None]:
    """(sha256 of the file the records came in, the sha256 their keys use).

    The data file inside an archive or folder (so a ZIP and the same export
    unzipped give the same keys), else the file itself.
    """
    data = sorted(f.sha256 for f in imp.files if f.role is FileRole.DATA)
    original = next((f.sha256 for f in imp.files if f.role is FileRole.ORIGINAL), None)
    if len(data) == 1:
        return data[0], data[0]
    if data:
        combined = hashlib.sha256("\0".join(data).encode()).hexdigest()
        return original or data[0], combined
    return original, original


def _named_case(obs: FieldObservation) -> str | None:
    """The case code an observation names, or None.

    An attribute ``case_id``, ``caso``... (the ODK form's answer, a CoMapeo tag,
    KML ExtendedData), else a name that is, or holds, a case code (a waypoint the
    monitor called ``C-0042`` or ``C-0645 coca``; inside a longer name the code is
    written with its hyphen).
    """
    wanted = {k.casefold() for k in CASE_KEYS}
    for key, value in obs.attributes.items():
        if str(key).casefold() in wanted and value not in (None, ""):
            return str(value).strip()
    name = obs.attributes.get("name")
    if isinstance(name, str):
        if _CASE_CODE.match(name):
            return name.strip()
        codes = {m.upper() for m in _CASE_CODE_IN.findall(name)}
        if len(codes) == 1:  # "C-0645 coca"; a name with two codes names neither
            return codes.pop()
    return None


def _is_report(obs: FieldObservation) -> bool:
    """Whether an observation is a field report that deserves a case of its own.

    A verdict, notes or photos make a report. A drone photo alone does not
    (a survey flight takes hundreds); neither does a bare waypoint.
    """
    if obs.verdict is not None or (obs.notes and obs.notes.strip()):
        return True
    if obs.kind is ObservationKind.PHOTO:
        return "gimbal_pitch_deg" not in obs.attributes and obs.footprint is None
    return bool(obs.attachments)


def _is_recorded(obs: FieldObservation) -> bool:
    """Whether a track was recorded on the way (it has times), not planned or drawn.

    A GPX route, or a line without a single time (a package's plan, a trail drawn
    in Google Earth), says nothing about where a patrol went.
    """
    return obs.time is not None and obs.attributes.get("gpx_element") != "route"


#: A case marker coming back lies this close (m) to its case's point (6 decimals: 0.1 m).
_MARKER_M = 5.0


def _is_package_marker(obs: FieldObservation, case: Case, cell_deg: float) -> bool:
    """Whether a waypoint is the case's own marker from a package (``casos.gpx``/``.kmz``):
    named by the case code alone, with no time, on the case's point as packages show it
    (a field report's case is shown at the centre of its grid cell)."""
    if obs.kind is not ObservationKind.WAYPOINT or obs.time is not None:
        return False
    name = obs.attributes.get("name")
    if not isinstance(obs.geometry, Point) or not (
            isinstance(name, str) and _CASE_CODE.match(name)) or any(
        str(k).casefold() in {c.casefold() for c in CASE_KEYS} for k in obs.attributes
    ):
        return False
    spots = {(case.lon, case.lat), shared_position(case, cell_deg)}
    here, *there = _metres([obs.geometry, *(Point(p) for p in spots)],
                           _frame_centre(obs.geometry))
    return min(float(here.distance(t)) for t in there) <= _MARKER_M


def _where(obs: FieldObservation) -> str:
    return f"{obs.source_file}, " + _("record {record}", record=obs.record_id)


@dataclass
class _Pending:
    """One new observation on its way into the store."""

    obs: FieldObservation
    key: str
    file_sha: str | None
    shas: dict[str, str]  # attachment name -> sha256
    case_id: int | None = None
    distance_m: float | None = None


@dataclass
class _Touch:
    observations: int = 0
    verdict: Verdict | None = None
    opened: bool = False


@dataclass
class _Run:
    """State of one import inside its transaction."""

    store: WorkspaceStore
    conn: Connection
    settings: Settings
    actor: str
    now: datetime
    open_cases: list[Case]
    warnings: list[FileProblem]
    settled: list[Case]
    touched: dict[int, _Touch] = field(default_factory=dict)
    new_cases: list[int] = field(default_factory=list)
    verdicts: int = 0
    _territories: list[StoredTerritory] | None = None
    _risk: dict[int, float] | None = None

    def warn(self, obs: FieldObservation, message: str) -> None:
        self.warnings.append(FileProblem(obs.source_file, f"{_where(obs)}: {message}"))

    def touch(self, case_id: int) -> _Touch:
        return self.touched.setdefault(case_id, _Touch())

    # -- matching -----------------------------------------------------------------------

    def attach(self, item: _Pending) -> None:
        obs = item.obs
        named = _named_case(obs)
        if named is not None:
            case = self._named(obs, named)
            if case is not None:
                if _is_package_marker(obs, case, self.settings.report_cell_deg):
                    self.warn(obs, _("this is the marker of case {code} from a vigilancia "
                                     "package, not a field record: kept, attached to no case",
                                     code=case.code))
                    return
                item.case_id = case.id
                if obs.geometry is not None:
                    item.distance_m = round(self._distance(obs.geometry, case), 2)
                    limit = self.settings.field_match_m
                    if item.distance_m > limit and obs.verdict not in (None, Verdict.NOT_REACHED):
                        self.warn(obs, _(
                            "it was recorded {distance} m from case {code}, farther than "
                            "{limit} m: check that the right case was chosen",
                            distance=number(item.distance_m), code=case.code,
                            limit=number(limit)))
                return
        if obs.geometry is None or obs.kind not in _ATTACHING:
            return
        options = _distances(obs.geometry, self.open_cases, self.settings.field_match_m)
        if not options:  # evidence of a case already verified (photos taken after the form)
            options = _distances(obs.geometry, self.settled, self.settings.field_match_m)
        picked = _pick_case(options, obs.time)
        if picked is not None:
            item.case_id, item.distance_m = picked[0].id, round(picked[1], 2)
            return
        if _is_report(obs):
            item.case_id, item.distance_m = self._open_case(obs), 0.0

    def _named(self, obs: FieldObservation, code: str) -> Case | None:
        try:
            return self.store.cases.get(parse_case_id(code), conn=self.conn)
        except InputError:
            self.warn(obs, _("{code!r} is not a case code; matched by position instead",
                             code=code))
        except NotFoundError:
            self.warn(obs, _("case {code} is not in this workspace; matched by position instead",
                             code=code))
        return None

    @staticmethod
    def _distance(geom: BaseGeometry, case: Case) -> float:
        shape = case.shape
        here, there = _metres([geom, shape], _frame_centre(geom))
        return float(here.distance(there))

    def _open_case(self, obs: FieldObservation) -> int:
        assert obs.geometry is not None
        spot = obs.geometry if isinstance(obs.geometry, Point) else obs.geometry.point_on_surface()
        territory = self._territory_of(spot)
        if self._risk is None:
            self._risk = territory_risk_scores(self.store, conn=self.conn)
        seen = obs.time.date() if obs.time is not None else self.now.date()
        driver = verdict_driver(obs.verdict) if obs.verdict is not None else None
        priority, terms = case_priority(
            area_ha=0.0, last_alert=seen, as_of=max(seen, self.now.date()),
            driver=driver, driver_probability=1.0 if driver is not None else None,
            risk_score=None if territory is None else self._risk.get(territory.id),
        )
        case = Case(
            id=0, status=CaseStatus.NEW, origin=CaseOrigin.FIELD,
            territory_id=None if territory is None else territory.id,
            lon=float(spot.x), lat=float(spot.y), priority=priority, priority_terms=terms,
            created_at=self.now, updated_at=self.now,
            geometry=None if isinstance(obs.geometry, Point) else obs.geometry,
        )
        (case_id,) = self.store.cases.add(self.conn, [case])
        self.store.cases.add_events(self.conn, [CaseEvent(
            case_id=case_id, at=self.now, actor=self.actor, action="opened",
            to_status=CaseStatus.NEW,
            detail={"origin": CaseOrigin.FIELD.value, "format": obs.source_format,
                    "record": obs.record_id},
        )])
        self.open_cases.append(self.store.cases.get(case_id, conn=self.conn))
        self.new_cases.append(case_id)
        self.touch(case_id).opened = True
        return case_id

    def _territory_of(self, spot: Point) -> StoredTerritory | None:
        if self._territories is None:
            found = units(self.store.territories.list(conn=self.conn))
            # communities, then reserves, then districts without communities; then by id
            self._territories = sorted(found, key=unit_order)
        return next((t for t in self._territories if t.geometry.covers(spot)), None)

    # -- tracks -------------------------------------------------------------------------

    def passed(self, obs: FieldObservation) -> list[tuple[Case, float]]:
        """Open cases a recorded track passed (planned routes and untimed lines never pass)."""
        if not isinstance(obs.geometry, LineString | Point) or not _is_recorded(obs):
            return []
        options = _distances(obs.geometry, self.open_cases, self.settings.field_match_m)
        return sorted(options, key=lambda item: (item[1], item[0].id))

    # -- verdicts -----------------------------------------------------------------------

    def apply_verdict(self, item: _Pending, actor: str) -> None:
        obs = item.obs
        verdict = obs.verdict
        assert verdict is not None and item.case_id is not None
        case = self.store.cases.get(item.case_id, conn=self.conn)
        if case.status is CaseStatus.VERIFIED and case.verdict is verdict:
            return  # already so
        detail = {"format": obs.source_format, "record": obs.record_id}
        observed = obs.time.date() if obs.time is not None else None
        try:
            after = update_case(self.store, case.id, actor=actor, verdict=verdict,
                                observed_at=observed, detail=detail, conn=self.conn)
        except ConflictError as exc:
            self.warn(obs, _("the verdict {verdict} was not applied: {reason}",
                             verdict=verdict.value, reason=exc.message))
            return
        self.touch(case.id).verdict = verdict
        if (after.status, after.verdict) != (case.status, case.verdict):
            self.verdicts += 1  # "not reached" on a case still waiting is history only
        if after.status is CaseStatus.VERIFIED:
            self.open_cases = [c for c in self.open_cases if c.id != case.id]
            self.settled = [c for c in self.settled if c.id != case.id] + [after]


def _intake(kept: Mapping[str, tuple[FieldFile, str, str]], known: set[str],
            pending: Sequence[_Pending]) -> list[tuple[str, int | None, str]]:
    """The custody intake of the files this import kept anew: (sha256, the one case they
    are evidence of or None, name), in the order they were kept."""
    cases: dict[str, set[int]] = {}
    for item in pending:
        if item.case_id is None:
            continue
        for sha in [item.file_sha, *(item.shas.get(a) for a in item.obs.attachments)]:
            if sha:
                cases.setdefault(sha, set()).add(item.case_id)
    out = []
    for sha, (ref, _rel, _source) in kept.items():
        if sha in known:
            continue
        found = cases.get(sha, set())
        out.append((sha, next(iter(found)) if len(found) == 1 else None, ref.name))
    return out


def _observation_row(item: _Pending, imported_at: datetime) -> dict[str, Any]:
    obs = item.obs
    geom = obs.geometry
    spot = None
    if geom is not None and not geom.is_empty:
        spot = geom if isinstance(geom, Point) else geom.point_on_surface()
    return {
        "key": item.key,
        "case_id": item.case_id,
        "distance_m": item.distance_m,
        "source_format": obs.source_format,
        "source_file": obs.source_file,
        "file_sha256": item.file_sha,
        "record_id": obs.record_id,
        "kind": obs.kind.value,
        "lon": None if spot is None else float(spot.x),
        "lat": None if spot is None else float(spot.y),
        "geometry": None if geom is None else shapely.to_wkb(geom),
        "footprint": None if obs.footprint is None else shapely.to_wkb(obs.footprint),
        "observed_at": obs.time,
        "end_at": obs.end_time,
        "altitude_m": obs.altitude_m,
        "accuracy_m": obs.accuracy_m,
        "verdict": None if obs.verdict is None else obs.verdict.value,
        "notes": obs.notes,
        "attributes": _jsonable(dict(obs.attributes)) or None,
        "attachments": [{"name": a, "sha256": item.shas.get(a)} for a in obs.attachments] or None,
        "imported_at": imported_at,
    }


def import_field(
    store: WorkspaceStore,
    settings: Settings,
    paths: Iterable[str | Path],
    *,
    actor: str,
    utc_offset: str | timedelta | None = None,
    progress: Progress | None = None,
) -> FieldImportResult:
    """Import field data from ``paths`` (files, export folders, ZIPs); see the module text.

    ``actor``: who runs the import (kept in the private history of the cases it
    opens; verdicts are recorded as ``import:<file name>``). ``utc_offset``: the
    offset of clocks that write local times without a zone (photos' EXIF
    DateTimeOriginal without OffsetTime), e.g. ``"-05:00"`` for Peru; records
    imported earlier without a time get theirs. ``progress`` is called with
    (stage, done, total).

    Archives (ZIP, KMZ) are checked before anything is read from them: at most
    ``settings.field_max_import_mb`` MB uncompressed for the whole import, no entry
    (and no archive) that expands more than 200 times, at most 20,000 entries; an
    archive that fails a check is refused by name and nothing of it is kept.
    Temporary copies that killed imports left in the evidence folder are removed.

    Raises :class:`~vigilancia.errors.StoreError` when the evidence folder or the
    database cannot be written; nothing is then stored in the database.
    """
    tick = progress or no_progress
    given = [str(p) for p in paths]
    if not given:
        raise InputError(_("No files to import"),
                         hint=_("give one or more files or folders: .zip, .csv, .geojson, "
                                ".gpx, .kml, .kmz, .jpg"))
    options = ImportOptions(
        assume_utc_offset=_offset(utc_offset),
        budget=ImportBudget(limit=int(settings.field_max_import_mb * 1_000_000)),
    )
    _evidence_leftovers(store.dir)
    counter = {"n": 0}

    def on_read(src: str) -> None:
        counter["n"] += 1
        tick("Reading field files", counter["n"], max(counter["n"], len(given)))

    imports, read_failures = read_many(given, options=options, on_progress=on_read)
    failures = [FileProblem(f.source, f.error.user_text()) for f in read_failures]
    warnings = [FileProblem(imp.source, w) for imp in imports for w in imp.warnings]
    if options.assume_utc_offset is None:
        warnings += _zoneless_warning(imports)

    # 1. evidence files, before the transaction (content-addressed: a retry reuses them)
    kept: dict[str, tuple[FieldFile, str, str]] = {}  # sha -> (file, stored path, source)
    good: list[FieldImport] = []
    for done, imp in enumerate(imports, start=1):
        tick("Keeping files", done, len(imports))
        local: dict[str, tuple[FieldFile, str, str]] = {}
        try:
            for ref in imp.files:
                if ref.sha256 in kept or ref.sha256 in local:
                    continue
                rel = _keep_file(store.dir, ref)
                local[ref.sha256] = (ref, rel, imp.source)
        except InputError as exc:
            failures.append(FileProblem(imp.source, exc.user_text()))
            continue
        kept.update(local)
        good.append(imp)

    # 2. the database, in one transaction
    now = datetime.now(UTC)
    with store.transaction() as conn:
        # the custody log: started (files kept before it) before this import's files join
        if kept:
            start_custody(store, conn, settings, actor=actor)
        known = {f.sha256 for f in store.field_files.list(kept, conn=conn)}
        added_files = store.field_files.add(conn, [
            {"sha256": sha, "size": ref.size, "name": ref.name, "stored_path": rel,
             "role": ref.role.value, "source": source, "imported_at": now}
            for sha, (ref, rel, source) in kept.items()
        ])
        pending: list[_Pending] = []
        skipped = 0
        seen_keys: set[str] = set()
        for imp in good:
            file_sha, key_sha = _record_file(imp)
            shas = {f.name: f.sha256 for f in imp.files}
            for obs in imp.observations:
                key = observation_key(obs.source_format, key_sha or "", obs.record_id)
                if key in seen_keys:
                    skipped += 1
                    continue
                seen_keys.add(key)
                pending.append(_Pending(obs, key, file_sha, shas))
        stored = store.observations.known_keys([p.key for p in pending], conn=conn)
        skipped += sum(p.key in stored for p in pending)
        times_set = store.observations.set_missing_times(conn, {
            p.key: (p.obs.time, p.obs.end_time) for p in pending
            if p.key in stored and p.obs.time is not None})
        pending = [p for p in pending if p.key not in stored]
        # oldest first, so that the latest verdict on a case is the one it keeps
        far = datetime.max.replace(tzinfo=UTC)
        pending.sort(key=lambda p: p.obs.time or far)

        run = _Run(store, conn, settings, actor, now,
                   store.cases.list(statuses=OPEN_STATUSES, conn=conn), warnings,
                   store.cases.list(statuses=SETTLED_STATUSES, conn=conn))
        tracks: list[TrackPass] = []
        events: list[CaseEvent] = []
        for done, item in enumerate(pending, start=1):
            obs = item.obs
            file_actor = f"import:{Path(obs.source_file).name}"
            if obs.kind is ObservationKind.TRACK:
                passed = run.passed(obs)
                if passed:
                    tracks.append(TrackPass(obs.source_file, obs.record_id,
                                            tuple(c.code for c, _d in passed)))
                    statuses = {c.id: c.status for c in store.cases.list(
                        ids=[c.id for c, _d in passed], conn=conn)}
                    events.extend(CaseEvent(
                        case_id=c.id, at=now, actor=file_actor, action="track_passed",
                        from_status=statuses[c.id], to_status=statuses[c.id],
                        detail={"format": obs.source_format, "record": obs.record_id,
                                "distance_m": round(d, 1)},
                    ) for c, d in passed)
            else:
                run.attach(item)
            if item.case_id is not None:
                run.touch(item.case_id).observations += 1
                case = store.cases.get(item.case_id, conn=conn)
                events.append(CaseEvent(
                    case_id=item.case_id, at=now, actor=file_actor, action="observation",
                    from_status=case.status, to_status=case.status,
                    detail={"format": obs.source_format, "record": obs.record_id,
                            "kind": obs.kind.value, "distance_m": item.distance_m},
                ))
                if obs.verdict is not None:
                    store.cases.add_events(conn, events)
                    events = []
                    run.apply_verdict(item, file_actor)
            elif obs.verdict is not None:
                run.warn(obs, _("the verdict {verdict} was not applied: the record names no "
                                "case and is not a point near one (a track, or no position)",
                                verdict=obs.verdict.value))
            tick("Attaching observations", done, len(pending))
        store.cases.add_events(conn, events)
        store.observations.add(conn, [_observation_row(p, now) for p in pending])
        record_intake(store, conn, settings, actor=actor, files=_intake(kept, known, pending))
        touched = store.cases.list(ids=sorted(run.touched), conn=conn) if run.touched else []

    cases = tuple(
        CaseTouched(c.id, c.code, c.status, run.touched[c.id].observations,
                    run.touched[c.id].verdict, run.touched[c.id].opened)
        for c in touched
    )
    return FieldImportResult(
        paths=len(given),
        read=len(good),
        files_kept=added_files,
        files_known=len(kept) - added_files,
        observations_added=len(pending),
        observations_skipped=skipped,
        attached=sum(p.case_id is not None for p in pending),
        new_cases=tuple(run.new_cases),
        verdicts_applied=run.verdicts,
        times_set=times_set,
        cases=cases,
        tracks=tuple(tracks),
        warnings=tuple(warnings),
        failures=tuple(failures),
    )


def _offset(value: str | timedelta | None) -> timedelta | None:
    """The UTC offset given to an import, or an InputError naming the input."""
    if value is None or isinstance(value, timedelta):
        return value
    try:
        return parse_utc_offset(value)
    except ValueError:
        raise InputError(
            _("{value!r} is not a UTC offset", value=value),
            hint=_("write it as hours and minutes east of UTC, e.g. -05:00 for Peru"),
            inputs="utc_offset",
        ) from None


def _zoneless_warning(imports: Sequence[FieldImport]) -> list[FileProblem]:
    """One warning for every record whose clock time had no zone (its time is left out)."""
    zoneless = [
        obs for imp in imports for obs in imp.observations
        if obs.time is None and any(
            k == "local_time" or str(k).endswith("_local") for k in obs.attributes)
    ]
    if not zoneless:
        return []
    names = [Path(obs.source_file).name if obs.kind is ObservationKind.PHOTO
             else f"{Path(obs.source_file).name} ({obs.record_id})" for obs in zoneless]
    shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    return [FileProblem(
        zoneless[0].source_file,
        ngettext("{n} record has a clock time without a time zone ({names}): its time was "
                 "left out; give the UTC offset of the phone or camera (for Peru, -05:00) "
                 "and import it again",
                 "{n} records have a clock time without a time zone ({names}): their time was "
                 "left out; give the UTC offset of the phones or cameras (for Peru, -05:00) "
                 "and import them again",
                 len(names), names=shown),
        inputs=("utc_offset",),
    )]


def list_observations(store: WorkspaceStore, *, case: str | int | None = None
                      ) -> list[StoredObservation]:
    """Stored observations (all, or those of one case), by time then id.

    Tracks are summarised by their point count; no geometry leaves this function.
    """
    case_id = None if case is None else parse_case_id(case)
    if case_id is not None:
        store.cases.get(case_id)  # NotFoundError for an unknown case
    return stored_observations(store.observations.list(case_id))
