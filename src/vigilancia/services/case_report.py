"""The case report (*informe*) for authorities: everything known about one case, gathered
into a :class:`CaseReport` that :func:`vigilancia.reports.case_report.render_case_report`
draws and :func:`vigilancia.services.reporting.issue_report` records.

What it holds (all read from the workspace; nothing is written here):

- where: the community territory (people, titling status), the district (province,
  department, UBIGEO), the coordinates in decimal degrees, DMS and UTM, and three maps
  (the case's surroundings at about 1.5 km, its place in the territory with every
  territory, reserve, protected area and district named, and the region);
- what: area, first and last alert, the alert products and files, pixels by confidence,
  the likely driver with its reasons and the model that gave them, and each clearing;
- overlaps: with each community territory (its titling status), reserve, protected area
  and district, in ha and as a share of the case;
- images before and after (:mod:`vigilancia.services.imagery`);
- what the patrol found: the verdict, its date and the notes, the field observations
  (tracks left out: they show patrol routes) and the photos as thumbnails, each with the
  SHA-256 of its original, its time and position; drone photos with their footprints;
- the custody log of the case (:mod:`vigilancia.services.reporting`).

**Who patrolled.** The report names no person: the assignee (a monitor or a team) and
the people in the case's history and custody log stay in the workspace. The patrol is
"the community monitoring team of <territory>"; an authority that needs the names
asks the organisation, whose signed custody log holds them.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from vigilancia.config import Settings
from vigilancia.domain.cases import Case, CaseEvent
from vigilancia.domain.context import ContextKind
from vigilancia.domain.drivers import Reason
from vigilancia.domain.field import ObservationKind
from vigilancia.domain.territories import StoredTerritory, TerritoryKind
from vigilancia.errors import InputError
from vigilancia.i18n import _, language
from vigilancia.io.crs import WGS84, local_equal_area, transform_geometries
from vigilancia.io.store import ClearingDetail, FieldFileRecord, ObservationRecord, WorkspaceStore
from vigilancia.services.cases import parse_case_id
from vigilancia.services.imagery import Imagery, case_imagery, chip_bounds
from vigilancia.services.report_maps import (
    MapFeature,
    MapView,
    Place,
    context_features,
    extent_around,
    geojson,
    place_of,
    region_bounds,
    territory_features,
)
from vigilancia.services.reporting import (
    REPORT_FORMAT,
    Coordinates,
    CustodyLine,
    coordinates,
    custody_lines,
)

if TYPE_CHECKING:
    import requests

__all__ = [
    "ADDRESSEES",
    "CaseReport",
    "ClearingLine",
    "DriverFinding",
    "FieldPhoto",
    "FieldRecord",
    "Overlap",
    "PatrolFinding",
    "TEMPLATES_FOLDER",
    "case_report",
]

#: Who a case report can be addressed to: the environmental prosecutor (FEMA), the
#: counternarcotics police (DIRANDRO), the Ombudsman's office, the protected-areas service.
ADDRESSEES = ("fiscalia", "policia", "defensoria", "sernanp")
#: Folder of a workspace whose templates replace the packaged ones.
TEMPLATES_FOLDER = "plantillas"
#: Longest side (pixels) of a photo's thumbnail in the report.
THUMBNAIL_PX = 360
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".heic")


@dataclass(frozen=True)
class Overlap:
    """How much of the case lies in one territory, reserve, protected area or district:
    its kind, name, people and titling status (communities), and the area (ha) and share
    (0-1) of the case inside it; for a case that is only a point, area and share are None
    and the point lies inside."""

    kind: str
    name: str
    people: str | None
    tenure: str | None
    title_date: date | None
    area_ha: float | None
    share: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"kind": self.kind, "name": self.name, "people": self.people,
                "tenure": self.tenure, "title_date": self.title_date,
                "area_ha": self.area_ha, "share": self.share}


@dataclass(frozen=True)
class ClearingLine:
    """One clearing of the case: id, alert product, alert dates, area (ha), pixels by
    confidence and its likely driver."""

    id: int
    product: str
    first_date: date | None
    last_date: date | None
    area_ha: float
    pixels: tuple[int, int, int]
    driver: str | None
    driver_probability: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"id": self.id, "product": self.product, "first_date": self.first_date,
                "last_date": self.last_date, "area_ha": self.area_ha,
                "pixels": {"low": self.pixels[0], "high": self.pixels[1],
                           "highest": self.pixels[2]},
                "driver": self.driver, "driver_probability": self.driver_probability}


@dataclass(frozen=True)
class DriverFinding:
    """The likely driver of the case with its probability, the other drivers' probabilities
    (largest first), the reasons of the clearing that gave it, and the model: its version,
    kind ("rules", "gbm"...), when it was made and how many labels trained it."""

    driver: str
    probability: float | None
    others: tuple[tuple[str, float], ...]
    reasons: tuple[Reason, ...]
    model_version: str | None
    model_kind: str | None
    model_created: datetime | None
    model_labels: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"driver": self.driver, "probability": self.probability,
                "others": [{"driver": d, "probability": p} for d, p in self.others],
                "reasons": [{"code": r.code, "params": dict(r.params)} for r in self.reasons],
                "model": {"version": self.model_version, "kind": self.model_kind,
                          "created_at": self.model_created, "labels": self.model_labels}}


@dataclass(frozen=True)
class FieldPhoto:
    """A field photo shown as a thumbnail: the SHA-256 and name of the original (kept byte
    for byte), when and where it was taken (UTC; lon/lat), whether it is a drone photo
    (with its height over the take-off point, m, and its footprint on the ground), and the
    thumbnail (JPEG without metadata) with its SHA-256; ``thumbnail`` is None when the
    original cannot be read (``missing``: why)."""

    sha256: str
    name: str
    taken_at: datetime | None
    lon: float | None
    lat: float | None
    drone: bool
    altitude_m: float | None
    footprint: BaseGeometry | None
    thumbnail: bytes | None
    missing: str | None = None

    @property
    def thumbnail_sha256(self) -> str | None:
        """SHA-256 of the thumbnail's bytes."""
        import hashlib

        return None if self.thumbnail is None else hashlib.sha256(self.thumbnail).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the thumbnail by its hash)."""
        return {"sha256": self.sha256, "name": self.name, "taken_at": self.taken_at,
                "lon": _deg(self.lon), "lat": _deg(self.lat), "drone": self.drone,
                "altitude_m": self.altitude_m, "footprint": geojson(self.footprint),
                "thumbnail_sha256": self.thumbnail_sha256, "missing": self.missing}


@dataclass(frozen=True)
class FieldRecord:
    """A field observation of the case (no tracks): kind, app and record, time (UTC),
    position (lon/lat), distance to the case (m), verdict, notes and how many files."""

    id: int
    kind: str
    source_format: str
    record_id: str
    observed_at: datetime | None
    lon: float | None
    lat: float | None
    distance_m: float | None
    verdict: str | None
    notes: str | None
    files: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"id": self.id, "kind": self.kind, "format": self.source_format,
                "record": self.record_id, "observed_at": self.observed_at,
                "lon": _deg(self.lon), "lat": _deg(self.lat),
                "distance_m": None if self.distance_m is None else round(self.distance_m, 1),
                "verdict": self.verdict, "notes": self.notes, "files": self.files}


@dataclass(frozen=True)
class PatrolFinding:
    """What the patrol found: who went (a team, never a person), the verdict and when it
    was given (None while unverified), and the notes (the case's and the observations')."""

    team: str
    verdict: str | None
    verdict_at: date | None
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"team": self.team, "verdict": self.verdict, "verdict_at": self.verdict_at,
                "notes": list(self.notes)}


@dataclass(frozen=True)
class CaseReport:
    """Everything a case report states (see the module text). :meth:`content` is the
    content document whose hash identifies the report; the maps' backdrops, the
    templates folder and the thumbnails' bytes are how it is drawn, not what it states."""

    kind = "case"
    organisation: str
    addressee: str
    language: str
    case: Case
    territory: StoredTerritory | None
    place: Place | None
    coordinates: Coordinates
    clearings: tuple[ClearingLine, ...]
    sources: tuple[str, ...]
    driver: DriverFinding | None
    overlaps: tuple[Overlap, ...]
    imagery: Imagery
    observations: tuple[FieldRecord, ...]
    photos: tuple[FieldPhoto, ...]
    patrol: PatrolFinding
    custody: tuple[CustodyLine, ...]
    detail_map: MapView
    location_map: MapView
    overview_map: MapView
    templates: Path | None = None

    @property
    def case_id(self) -> int:
        """The case's number."""
        return self.case.id

    @property
    def title(self) -> str:
        """"Case report C-0042" in the report's language."""
        with language(self.language):
            return _("Case report {case}", case=self.case.code)

    @property
    def pixels(self) -> tuple[int, int, int]:
        """Alert pixels of every clearing by confidence: low, high, highest."""
        return (sum(c.pixels[0] for c in self.clearings), sum(c.pixels[1] for c in self.clearings),
                sum(c.pixels[2] for c in self.clearings))

    @property
    def products(self) -> tuple[str, ...]:
        """The alert products of the clearings, each once, in order."""
        return tuple(dict.fromkeys(c.product for c in self.clearings))

    def content(self) -> dict[str, Any]:
        """The content document (see :mod:`vigilancia.services.reporting`)."""
        c = self.case
        return {
            "format": REPORT_FORMAT,
            "kind": self.kind,
            "language": self.language,
            "addressee": self.addressee,
            "organisation": self.organisation,
            "case": {"code": c.code, "status": c.status, "origin": c.origin,
                     "area_ha": round(c.area_ha, 4), "first_alert": c.first_alert,
                     "last_alert": c.last_alert, "geometry": geojson(c.geometry)},
            "territory": None if self.territory is None else {
                "name": self.territory.name, "kind": self.territory.kind,
                "people": self.territory.people, "tenure": self.territory.tenure,
                "title_date": self.territory.title_date},
            "place": self.place,
            "coordinates": self.coordinates,
            "alerts": {"products": list(self.products), "sources": list(self.sources),
                       "pixels": dict(zip(("low", "high", "highest"), self.pixels,
                                          strict=True)),
                       "clearings": list(self.clearings)},
            "driver": self.driver,
            "overlaps": list(self.overlaps),
            "imagery": self.imagery,
            "field": {"observations": list(self.observations), "photos": list(self.photos)},
            "patrol": self.patrol,
            "custody": [line for line in self.custody if line.action != "report"],
        }

    def to_dict(self) -> dict[str, Any]:
        """The content document (what the web app offers beside the PDF)."""
        return self.content()


def _deg(value: float | None) -> float | None:
    return None if value is None else round(float(value), 7)


# ------------------------------------------------------------------ gathering


def _overlaps(shape: BaseGeometry, is_point: bool,
              territories: Sequence[StoredTerritory]) -> list[Overlap]:
    """The territories of every kind that hold part of ``shape``, by kind, then share."""
    near = [t for t in territories if t.geometry.intersects(shape)]
    if not near:
        return []
    out = []
    if is_point:
        for t in near:
            out.append(Overlap(t.kind.value, t.name, t.people, t.tenure.value
                               if t.kind is TerritoryKind.COMMUNITY else None, t.title_date,
                               None, None))
    else:
        cx, cy = shape.centroid.x, shape.centroid.y
        frame = local_equal_area(round(cx, 3), round(cy, 3))
        case_m, *others = transform_geometries([shape, *[t.geometry for t in near]],
                                               WGS84, frame)
        total = float(case_m.area)
        for t, geom in zip(near, others, strict=True):
            inside = float(shapely.intersection(case_m, geom).area)
            if inside <= 0:
                continue
            out.append(Overlap(t.kind.value, t.name, t.people,
                               t.tenure.value if t.kind is TerritoryKind.COMMUNITY else None,
                               t.title_date, round(inside / 10_000.0, 4),
                               round(inside / total, 4) if total > 0 else None))
    order = {k.value: i for i, k in enumerate((TerritoryKind.COMMUNITY, TerritoryKind.RESERVE,
                                               TerritoryKind.PROTECTED_AREA,
                                               TerritoryKind.DISTRICT))}
    return sorted(out, key=lambda o: (order.get(o.kind, 9), -(o.share or 1.0), o.name))


def _driver(case: Case, details: Sequence[ClearingDetail], store: WorkspaceStore
            ) -> DriverFinding | None:
    if case.driver is None:
        return None
    same = [d for d in details if d.driver == case.driver]
    source = max(same, key=lambda d: (d.driver_probability or 0.0, d.area_ha), default=None)
    model = None
    if source is not None and source.model_version:
        model = next((m for m in store.models.list() if m.version == source.model_version),
                     None)
    others: tuple[tuple[str, float], ...] = ()
    reasons: tuple[Reason, ...] = ()
    version = None
    if source is not None:
        ranked = sorted(source.driver_probs.items(), key=lambda kv: (-kv[1], kv[0]))
        others = tuple((d, round(p, 4)) for d, p in ranked if d != case.driver)[:3]
        reasons = tuple(Reason(str(r.get("code", "")), dict(r.get("params") or {}))
                        for r in source.driver_reasons)
        version = source.model_version
    kind = model.kind if model is not None else (
        version.split("-")[0] if version else None)
    return DriverFinding(
        driver=case.driver.value,
        probability=None if case.driver_probability is None
        else round(case.driver_probability, 4),
        others=others, reasons=reasons, model_version=version, model_kind=kind,
        model_created=None if model is None else model.created_at,
        model_labels=None if model is None else model.n_labels,
    )


def _thumbnail(path: Path) -> tuple[bytes | None, str | None]:
    """A JPEG thumbnail without metadata of the image at ``path``, or why there is none."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not path.is_file():
        return None, _("the kept file is missing")
    try:
        with Image.open(path) as opened:
            img = ImageOps.exif_transpose(opened).convert("RGB")
            img.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.LANCZOS)
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=82, optimize=False, progressive=False)
    except (UnidentifiedImageError, OSError):
        return None, _("the kept file is not a readable image")
    return buf.getvalue(), None


def _field(store: WorkspaceStore, rows: Sequence[ObservationRecord]
           ) -> tuple[list[FieldRecord], list[FieldPhoto]]:
    """The case's observations (tracks left out) and the photos among their files."""
    records: list[FieldRecord] = []
    wanted: list[tuple[ObservationRecord, str, str]] = []  # observation, sha, name
    for r in rows:
        if r.kind == ObservationKind.TRACK.value:
            continue
        atts = [a for a in (r.attachments or []) if a.get("sha256")]
        records.append(FieldRecord(
            id=r.id, kind=r.kind, source_format=r.source_format, record_id=r.record_id,
            observed_at=r.observed_at, lon=r.lon, lat=r.lat, distance_m=r.distance_m,
            verdict=r.verdict, notes=(r.notes or "").strip() or None, files=len(atts)))
        for a in atts:
            name = str(a.get("name") or "")
            if Path(name).suffix.lower() in PHOTO_SUFFIXES:
                wanted.append((r, str(a["sha256"]), Path(name).name))
    kept: dict[str, FieldFileRecord] = {
        f.sha256: f for f in store.field_files.list(sorted({sha for _r, sha, _n in wanted}))
    } if wanted else {}
    photos: list[FieldPhoto] = []
    seen: set[str] = set()
    for r, sha, name in wanted:
        if sha in seen:
            continue
        seen.add(sha)
        attrs = dict(r.attributes or {})
        footprint = None if r.footprint is None else shapely.from_wkb(r.footprint)
        drone = footprint is not None or "gimbal_pitch_deg" in attrs \
            or str(attrs.get("camera_make", "")).upper() == "DJI"
        record = kept.get(sha)
        path = None if record is None else store.dir / record.stored_path
        thumb, missing = (None, _("the file is not in the workspace")) if path is None \
            else _thumbnail(path)
        taken, lon, lat = r.observed_at, r.lon, r.lat
        if r.kind != ObservationKind.PHOTO.value and path is not None and thumb is not None:
            taken, lon, lat = _exif_place(path, name, (taken, lon, lat))
        photos.append(FieldPhoto(
            sha256=sha, name=name, taken_at=taken, lon=lon, lat=lat, drone=drone,
            altitude_m=_float(attrs.get("relative_altitude_m")) if drone else None,
            footprint=footprint, thumbnail=thumb, missing=missing))
    far = datetime.max.replace(tzinfo=UTC)
    photos.sort(key=lambda p: (p.taken_at or far, p.name, p.sha256))
    return records, photos


def _exif_place(path: Path, name: str, fallback: tuple[datetime | None, float | None,
                                                      float | None]
                ) -> tuple[datetime | None, float | None, float | None]:
    """When and where a photo attached to a form or an observation was taken, from its own
    EXIF (GPS position, time with its offset); ``fallback`` (the record's) otherwise."""
    from vigilancia.errors import VigilanciaError
    from vigilancia.io.field.common import ImportOptions
    from vigilancia.io.field.photos import PhotoImporter

    if path.suffix.lower() not in (".jpg", ".jpeg"):
        return fallback
    try:
        read = PhotoImporter().read(path, source=name, options=ImportOptions())
    except VigilanciaError:
        return fallback
    obs = read.observations[0] if read.observations else None
    if obs is None:
        return fallback
    when = obs.time or fallback[0]
    if obs.geometry is None:
        return when, fallback[1], fallback[2]
    spot = obs.geometry.representative_point()
    return when, float(spot.x), float(spot.y)


def _float(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _patrol(case: Case, territory: StoredTerritory | None, events: Iterable[CaseEvent],
            records: Sequence[FieldRecord]) -> PatrolFinding:
    team = (_("community monitoring team of {territory}", territory=territory.name)
            if territory is not None else _("community monitoring team"))
    verdict_at = None
    if case.verdict is not None:
        with_verdict = [r.observed_at for r in records
                        if r.verdict == case.verdict.value and r.observed_at is not None]
        if with_verdict:
            verdict_at = max(with_verdict).date()
        else:
            given = [e.at for e in events if e.action == "verdict"
                     and (e.detail or {}).get("verdict") == case.verdict.value]
            verdict_at = max(given).date() if given else None
    notes = [case.note.strip()] if case.note and case.note.strip() else []
    notes += [r.notes for r in records if r.notes and r.notes not in notes]
    return PatrolFinding(team=team, verdict=None if case.verdict is None else case.verdict.value,
                         verdict_at=verdict_at, notes=tuple(notes))


def _maps(store: WorkspaceStore, case: Case, territory: StoredTerritory | None,
          territories: Sequence[StoredTerritory], photos: Sequence[FieldPhoto],
          records: Sequence[FieldRecord], clearing_shapes: dict[int, BaseGeometry]
          ) -> tuple[MapView, MapView, MapView]:
    shape = case.shape
    kinds = (TerritoryKind.COMMUNITY, TerritoryKind.RESERVE, TerritoryKind.PROTECTED_AREA,
             TerritoryKind.DISTRICT)
    # 1. the case's surroundings: clearings numbered, drone footprints, field points
    near = chip_bounds(shape)
    detail_feats = territory_features(territories, near, kinds)
    detail_feats += context_features(store, near)
    for cid in sorted(clearing_shapes):
        detail_feats.append(MapFeature("clearing", None, clearing_shapes[cid], str(cid)))
    detail_feats += [MapFeature("footprint", p.name, p.footprint) for p in photos
                     if p.footprint is not None]
    points = tuple(MapFeature("observation", r.kind, Point(r.lon, r.lat), str(r.id))
                   for r in records if r.lon is not None and r.lat is not None)
    name = None if territory is None else territory.name
    detail = MapView(near, tuple(detail_feats), focus=shape, points=points, highlight=name)
    # 2. its place: the territory (or 6 km around it), with every named polygon
    base = [shape] + ([territory.geometry] if territory is not None else [])
    where = extent_around(base, min_m=6000.0, pad=0.08, ratio=0.72)
    location = MapView(where, tuple(territory_features(territories, where, kinds)
                                    + context_features(store, where)), focus=shape,
                       inset=near, highlight=name)
    # 3. the region
    region = region_bounds(store, territories, shape)
    overview = MapView(region, tuple(territory_features(
        territories, region, (TerritoryKind.DISTRICT, TerritoryKind.COMMUNITY,
                              TerritoryKind.RESERVE, TerritoryKind.PROTECTED_AREA))
        + context_features(store, region, (ContextKind.RIVER,))), focus=shape, inset=where,
        highlight=name)
    return detail, location, overview


def case_report(
    store: WorkspaceStore,
    settings: Settings,
    case: str | int,
    *,
    addressee: str = "fiscalia",
    lang: str | None = None,
    imagery: str = "auto",
    imagery_files: Sequence[Path] = (),
    today: date | None = None,
    session: requests.Session | None = None,
) -> CaseReport:
    """Gather the case report of ``case`` (``C-0042`` or ``42``) for ``addressee`` (one of
    :data:`ADDRESSEES`) in ``lang`` (the settings' language by default); ``imagery``:
    "auto", "none" or "files" with ``imagery_files`` (see
    :mod:`vigilancia.services.imagery`). Reads only; nothing is written.
    """
    if addressee not in ADDRESSEES:
        raise InputError(_("unknown addressee {value!r}", value=addressee),
                         hint=_("use one of: {names}", names=", ".join(ADDRESSEES)),
                         inputs="to")
    lang = (lang or settings.language or "es").lower()
    if lang not in ("es", "en"):
        raise InputError(_("unknown report language {value!r}", value=lang),
                         hint=_("use es or en"), inputs="lang")
    with language(lang):
        found = store.cases.get(parse_case_id(case))
        territories = store.territories.list()
        territory = next((t for t in territories if t.id == found.territory_id), None)
        shape = found.shape
        point = Point(found.lon, found.lat)
        districts = [t for t in territories
                     if t.kind is TerritoryKind.DISTRICT and t.geometry.intersects(point)]
        details = store.clearings.details(list(found.clearing_ids))
        cols = store.clearings.columns(clearing_ids=list(found.clearing_ids))
        clearing_shapes = {int(i): g for i, g in zip(cols.id.tolist(), cols.geometry.tolist(),
                                                     strict=True)}
        clearings = tuple(ClearingLine(
            id=d.id, product=d.product, first_date=d.first_date, last_date=d.last_date,
            area_ha=round(d.area_ha, 4), pixels=(d.pixels_low, d.pixels_high,
                                                 d.pixels_highest),
            driver=d.driver, driver_probability=None if d.driver_probability is None
            else round(d.driver_probability, 4)) for d in details)
        sources = tuple(dict.fromkeys(Path(d.source).name for d in details))
        rows = store.observations.list(found.id)
        records, photos = _field(store, rows)
        events = store.cases.events(found.id)
        pictures = case_imagery(settings, shape, first_alert=found.first_alert,
                                last_alert=found.last_alert, mode=imagery,
                                files=imagery_files, today=today, session=session)
        detail, location, overview = _maps(store, found, territory, territories, photos,
                                           records, clearing_shapes)
        return CaseReport(
            organisation=store.name, addressee=addressee, language=lang, case=found,
            territory=territory, place=place_of(districts[0]) if districts else None,
            coordinates=coordinates(found.lon, found.lat), clearings=clearings,
            sources=sources, driver=_driver(found, details, store),
            overlaps=tuple(_overlaps(shape, found.geometry is None or shape.area == 0,
                                     territories)),
            imagery=pictures, observations=tuple(records), photos=tuple(photos),
            patrol=_patrol(found, territory, events, records),
            custody=tuple(custody_lines(store, found.id)),
            detail_map=detail, location_map=location, overview_map=overview,
            templates=store.dir / TEMPLATES_FOLDER,
        )
