"""Importing territories (community lands, reserves, protected areas, districts) into a workspace.

:func:`import_territories` reads a vector file or an ArcGIS REST layer, repairs
the geometry (reporting every repair), builds :class:`Territory` objects with a
name, people, tenure and title date guessed from the attributes, and stores them
in one transaction together with a record of the import. The same file (or the
same downloaded content) imported twice as the same kind adds nothing.

Every change of territories re-places the stored clearings it can affect, in the
same transaction (:mod:`vigilancia.services.placement`): importing territories
after the alerts places them as importing them before would have.

- ``replace=True`` imports a newer version of a layer: the file holds the whole
  layer of that kind. A territory of the workspace whose name is in the file
  (accents and case ignored; names that repeat are told apart by their feature
  id) is updated in place, keeping its number, cases and patrol plans; one that
  is not in the file is removed; the file's other territories are added.
- :func:`remove_territories` removes territories by number or name.

Cases of a removed territory move to the unit their clearings now belong to (or
keep none); its patrol plans go with it.

>>> from vigilancia.io.store import WorkspaceStore  # doctest: +SKIP
>>> store = WorkspaceStore.create(Path("espacio"))  # doctest: +SKIP
>>> result = import_territories(  # doctest: +SKIP
...     store, "comunidades.gpkg", kind=TerritoryKind.COMMUNITY)
>>> result.imported, len(result.repairs), result.dropped[:1]  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import shapely

from vigilancia.config import Settings
from vigilancia.domain.territories import (
    Repair,
    StoredTerritory,
    Tenure,
    Territory,
    TerritoryKind,
    guess_name_field,
    guess_people,
    guess_tenure,
    guess_title_date,
    normalise_name,
    polygonal_part,
)
from vigilancia.errors import ConflictError, InputError, NotFoundError, action
from vigilancia.i18n import _, ngettext
from vigilancia.io.sources.arcgis import Fetch, fetch_layer, is_arcgis_url
from vigilancia.io.store import WorkspaceStore
from vigilancia.io.vectors import VectorLayer, file_sha256, read_features
from vigilancia.progress import Progress
from vigilancia.services.cases import CaseMover, CasesMoved
from vigilancia.services.placement import PlacementUpdate, clearings_placed_on, replace_clearings
from vigilancia.services.texts.territories import kind_name

__all__ = [
    "LayerPlan",
    "ListedTerritory",
    "TerritoryImportResult",
    "TerritoryRemoveResult",
    "import_territories",
    "list_territories",
    "match_layer",
    "parse_kinds",
    "remove_territories",
]

#: Kinds whose tenure (titling) is read from the attributes; others are "unknown".
_TENURE_KINDS = (TerritoryKind.COMMUNITY, TerritoryKind.RESERVE)

@dataclass(frozen=True)
class TerritoryImportResult:
    """What one import did.

    ``imported`` counts the territories stored (0 when ``skipped_existing``:
    the same content was imported before as this kind). ``repairs`` lists the
    geometry repairs, ``dropped`` the features left out with the reason
    (``"feature 3 (id=X): it is a point, not a polygon"``). ``name_field`` is
    the attribute the names came from (None when there was none).
    """

    source: str
    kind: TerritoryKind
    imported: int
    skipped_existing: bool
    repairs: list[Repair] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    name_field: str | None = None
    ids: list[int] = field(default_factory=list)
    sha256: str | None = None
    updated: list[int] = field(default_factory=list)  # ids changed in place (replace)
    reshaped: list[int] = field(default_factory=list)  # of those, ids whose polygon changed
    removed: list[int] = field(default_factory=list)  # ids removed (replace)
    unchanged: int = 0  # territories of the file already stored as they are (replace)
    placement: PlacementUpdate = field(default_factory=PlacementUpdate)
    cases: CasesMoved = field(default_factory=lambda: CasesMoved())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: source, kind, counts, repairs, dropped features, ids (added,
        updated, removed), hash, the clearings placed again and the cases moved."""
        return {
            "source": self.source,
            "kind": self.kind,
            "imported": self.imported,
            "skipped_existing": self.skipped_existing,
            "repairs": [asdict(r) for r in self.repairs],
            "dropped": list(self.dropped),
            "name_field": self.name_field,
            "ids": list(self.ids),
            "sha256": self.sha256,
            "updated": list(self.updated),
            "reshaped": list(self.reshaped),
            "removed": list(self.removed),
            "unchanged": self.unchanged,
            "placement": self.placement.to_dict(),
            "cases": self.cases.to_dict(),
        }


@dataclass(frozen=True)
class ListedTerritory:
    """A stored territory as listed (no geometry): id, name, kind, people, tenure, title
    date, area (ha) and source."""

    id: int
    name: str
    kind: TerritoryKind
    people: str | None
    tenure: Tenure
    title_date: date | None
    area_ha: float | None
    source: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"id": self.id, "name": self.name, "kind": self.kind, "people": self.people,
                "tenure": self.tenure, "title_date": self.title_date,
                "area_ha": self.area_ha, "source": self.source}


def list_territories(store: Any, kinds: Iterable[TerritoryKind | str] | None = None
                     ) -> list[ListedTerritory]:
    """The stored territories (all, or those of ``kinds``), by id, without their polygons.

    An unknown kind raises :class:`~vigilancia.errors.InputError`."""
    wanted = None if kinds is None else parse_kinds(kinds)
    return [
        ListedTerritory(id=t.id, name=t.name, kind=t.kind, people=t.people, tenure=t.tenure,
                        title_date=t.title_date, area_ha=t.area_ha, source=t.source)
        for t in store.territories.list(wanted)
    ]


def parse_kinds(kinds: Iterable[TerritoryKind | str]) -> list[TerritoryKind]:
    """Kinds of territory from their codes; :class:`~vigilancia.errors.InputError` naming
    the first unknown one."""
    out = []
    for k in kinds:
        try:
            out.append(TerritoryKind(k))
        except ValueError:
            raise InputError(_("Unknown kind of territory {value!r}", value=k),
                             hint=_("use one of: {names}",
                                    names=", ".join(t.value for t in TerritoryKind)),
                             inputs="kind") from None
    return out


def import_territories(
    store: WorkspaceStore,
    path_or_url: str,
    *,
    kind: TerritoryKind | str,
    name_field: str | None = None,
    layer: str | None = None,
    fetch: Fetch | None = None,
    progress: Progress | None = None,
    replace: bool = False,
    settings: Settings | None = None,
    actor: str = "vigilancia",
) -> TerritoryImportResult:
    """Import the polygons of a file or ArcGIS layer as territories of ``kind``.

    ``path_or_url`` is a vector file (GeoPackage, GeoJSON, Shapefile or zipped
    Shapefile, KML/KMZ, FlatGeobuf, Esri JSON) or an ``http(s)`` URL of an ArcGIS
    REST layer (``.../MapServer/27``, ``.../FeatureServer/0``), read page by page
    (``fetch`` and ``progress`` go to :func:`~vigilancia.io.sources.arcgis.fetch_layer`).
    ``name_field`` names the attribute holding the territory name (guessed when
    not given: ``nomcom``, ``nombre``, ``NOMBDIST``, ...); ``layer`` picks a layer
    of a multi-layer file. ``replace``: the file is a newer version of the whole
    layer of ``kind`` (see the module docstring).

    Points, lines and features without geometry are left out and listed in
    ``dropped``; a file without any polygon raises :class:`InputError`. Everything
    is stored in one transaction, the re-placement of the stored clearings
    included (``settings.buffer_km`` for batches that do not record their buffer;
    ``actor`` is recorded in the history of the cases that move): on any error
    nothing is stored.
    """
    kind = TerritoryKind(kind)
    source = str(path_or_url)
    import_kind = f"territories:{kind.value}"
    vector, key = read_import_source(
        store, source, import_kind, layer=layer, fetch=fetch, progress=progress,
        again=replace,
    )
    if vector is None:
        return TerritoryImportResult(
            source=source, kind=kind, imported=0, skipped_existing=True, sha256=key
        )

    field_name = _resolve_name_field(vector, name_field, source)
    territories, dropped = _build_territories(vector, kind, field_name, source)
    skipped = TerritoryImportResult(source=source, kind=kind, imported=0, skipped_existing=True,
                                    name_field=field_name, sha256=key)
    buffer_m = (settings or Settings()).buffer_km * 1000.0
    try:
        with store.transaction() as conn:
            known = store.imports.has(key, import_kind, conn=conn)
            if known and not replace:
                return skipped
            if replace:
                plan = match_layer(store.territories.list([kind], conn=conn), territories)
            else:
                plan = LayerPlan(add=territories)
            reshaped = [o for o, n in plan.update if not _same_polygon(o, n)]
            placed_on = clearings_placed_on(store, conn, [*plan.remove, *reshaped])
            moving = CaseMover(store, conn, plan.remove)
            store.territories.update(conn, {o.id: n for o, n in plan.update})
            store.territories.remove(conn, [t.id for t in plan.remove])
            ids = store.territories.add(conn, plan.add)
            if not known:
                store.imports.record(conn, key, import_kind, source, len(territories))
            if replace:  # the file is the whole layer now
                store.imports.forget(conn, import_kind, keep_sha256=key)
            changed = {*ids, *(o.id for o in reshaped)}
            new = [t for t in store.territories.list([kind], conn=conn) if t.id in changed]
            placement = replace_clearings(store, conn, placed_on_old=placed_on, new=new,
                                          buffer_m=buffer_m, progress=progress)
            cases = moving.move(actor)
    except ConflictError:  # a concurrent import of the same content won the race
        return skipped
    return TerritoryImportResult(
        source=source,
        kind=kind,
        imported=len(ids),
        skipped_existing=False,
        repairs=list(vector.repairs),
        dropped=dropped,
        name_field=field_name,
        ids=list(ids),
        sha256=key,
        updated=[o.id for o, _n in plan.update],
        reshaped=[o.id for o in reshaped],
        removed=[t.id for t in plan.remove],
        unchanged=plan.unchanged,
        placement=placement,
        cases=cases,
    )


@dataclass
class LayerPlan:
    """How a newer version of a layer changes the stored one: territories to ``add``,
    stored ones to ``update`` in place (stored, new), stored ones to ``remove``, and how
    many are ``unchanged``."""

    add: list[Territory] = field(default_factory=list)
    update: list[tuple[StoredTerritory, Territory]] = field(default_factory=list)
    remove: list[StoredTerritory] = field(default_factory=list)
    unchanged: int = 0


def match_layer(old: Sequence[StoredTerritory], new: Sequence[Territory]) -> LayerPlan:
    """Pair the stored territories of a layer with those of its newer version.

    A stored territory and a new one pair when their names are the same (accents,
    case and spacing ignored); where a name is on several territories of either
    side, they pair by feature id (``source_id``) among that name, and those left
    without a pair are removed and added. A pair whose polygon and attributes are
    the same is unchanged.

    >>> from shapely.geometry import box
    >>> old = [StoredTerritory(1, "Alfa", TerritoryKind.COMMUNITY, box(0, 0, 1, 1), "v1"),
    ...        StoredTerritory(2, "Beta", TerritoryKind.COMMUNITY, box(1, 0, 2, 1), "v1")]
    >>> new = [Territory("ALFA", TerritoryKind.COMMUNITY, box(0, 0, 1, 2), "v2"),
    ...        Territory("Gama", TerritoryKind.COMMUNITY, box(3, 0, 4, 1), "v2")]
    >>> plan = match_layer(old, new)
    >>> [o.id for o, _n in plan.update], [t.name for t in plan.add], [t.id for t in plan.remove]
    ([1], ['Gama'], [2])
    """
    by_name_old: dict[str, list[StoredTerritory]] = {}
    for t in old:
        by_name_old.setdefault(normalise_name(t.name), []).append(t)
    by_name_new: dict[str, list[Territory]] = {}
    for n in new:
        by_name_new.setdefault(normalise_name(n.name), []).append(n)
    plan = LayerPlan()
    paired_old: set[int] = set()
    for name, fresh in by_name_new.items():
        stored = by_name_old.get(name, [])
        if len(stored) == 1 and len(fresh) == 1:
            pairs = [(stored[0], fresh[0])]
        else:
            by_fid = {t.source_id: t for t in stored if t.source_id is not None}
            pairs = [(by_fid[n.source_id], n) for n in fresh
                     if n.source_id is not None and n.source_id in by_fid]
        matched_new = {id(n) for _o, n in pairs}
        plan.add.extend(n for n in fresh if id(n) not in matched_new)
        for o, n in pairs:
            paired_old.add(o.id)
            if _same(o, n):
                plan.unchanged += 1
            else:
                plan.update.append((o, n))
    plan.remove.extend(t for t in old if t.id not in paired_old)
    return plan


def _same(stored: StoredTerritory, new: Territory) -> bool:
    """Whether a stored territory already is the new one (polygon and every field)."""
    return (
        stored.name == new.name and stored.people == new.people and stored.tenure == new.tenure
        and stored.title_date == new.title_date and stored.source == new.source
        and stored.source_id == new.source_id
        and dict(stored.attributes or {}) == dict(new.attributes or {})
        and _same_polygon(stored, new)
    )


def _same_polygon(stored: StoredTerritory, new: Territory) -> bool:
    """Whether the new version keeps the stored polygon, vertex for vertex."""
    return bool(shapely.equals_exact(stored.geometry, new.geometry, tolerance=0.0))


def _sources(store: Any, conn: Any, kind: TerritoryKind) -> set[str]:
    return {t.source for t in store.territories.list([kind], conn=conn)}


@dataclass(frozen=True)
class TerritoryRemoveResult:
    """What :func:`remove_territories` did: the territories removed (id, name, kind), the
    clearings placed again, the cases moved to another unit or left without one, and
    the patrol plans that went with their territory."""

    removed: list[ListedTerritory]
    placement: PlacementUpdate
    cases: CasesMoved
    patrol_plans: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"removed": list(self.removed), "placement": self.placement.to_dict(),
                "cases": self.cases.to_dict(), "patrol_plans": self.patrol_plans}


def remove_territories(
    store: Any,
    names_or_ids: Sequence[str | int],
    *,
    settings: Settings | None = None,
    actor: str = "vigilancia",
    progress: Progress | None = None,
) -> TerritoryRemoveResult:
    """Remove territories (each by number or name, accents and case ignored) in one
    transaction, re-placing the clearings they held or were nearest to.

    Cases of a removed territory move to the unit their clearings now belong to, or
    keep no territory (recorded in their history, by ``actor``); its patrol plans are
    removed. An unknown or ambiguous name raises a
    :class:`~vigilancia.errors.NotFoundError` or :class:`InputError` and nothing changes.
    """
    if not names_or_ids:
        raise InputError(_("name the territories to remove, by number or name"),
                         hint=_("see the list of territories"),
                         actions=action("territories.list"))
    buffer_m = (settings or Settings()).buffer_km * 1000.0
    with store.transaction() as conn:
        stored = store.territories.list(conn=conn)
        going: dict[int, StoredTerritory] = {}
        for wanted in names_or_ids:
            t = _one_territory(stored, str(wanted))
            going[t.id] = t
        targets = list(going.values())
        placed_on = clearings_placed_on(store, conn, targets)
        plans = sum(len(store.patrol_plans.list(tid, conn=conn)) for tid in going)
        moving = CaseMover(store, conn, targets)
        store.territories.remove(conn, list(going))
        for kind in {t.kind for t in targets}:
            store.imports.forget(conn, f"territories:{kind.value}",
                                 keep_sources=_sources(store, conn, kind))
        placement = replace_clearings(store, conn, placed_on_old=placed_on, new=[],
                                      buffer_m=buffer_m, progress=progress)
        cases = moving.move(actor)
    return TerritoryRemoveResult(
        removed=[_listed(t) for t in targets], placement=placement, cases=cases,
        patrol_plans=plans)


def _one_territory(stored: Sequence[StoredTerritory], text: str) -> StoredTerritory:
    """The stored territory numbered or named ``text`` (any kind)."""
    text = text.strip()
    if text.isdigit():
        for t in stored:
            if t.id == int(text):
                return t
    wanted = normalise_name(text)
    found = [t for t in stored if normalise_name(t.name) == wanted]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        listing = "; ".join(f"{t.id}: {t.name} ({kind_name(t.kind)})" for t in found[:8])
        raise InputError(
            _("Territory {name!r} matches {n} territories: {listing}",
              name=text, n=len(found), listing=listing),
            hint=_("give the number (id) of the one you mean"),
        )
    raise NotFoundError(
        _("No territory numbered or called {name!r} in this workspace", name=text),
        hint=_("see the list of territories"),
        actions=action("territories.list"),
    )


def _listed(t: StoredTerritory) -> ListedTerritory:
    return ListedTerritory(id=t.id, name=t.name, kind=t.kind, people=t.people, tenure=t.tenure,
                           title_date=t.title_date, area_ha=t.area_ha, source=t.source)


def read_import_source(
    store: Any,
    source: str,
    import_kind: str,
    *,
    layer: str | None = None,
    fetch: Fetch | None = None,
    progress: Progress | None = None,
    again: bool = False,
) -> tuple[VectorLayer | None, str]:
    """The features of a file or ArcGIS REST layer, and the key that identifies its content.

    Returns ``(None, key)`` without reading the file when that content was
    already imported as ``import_kind`` (``store.imports.has``), unless ``again``.
    Other URLs than ArcGIS REST layers are refused with an :class:`InputError`.
    """
    if is_arcgis_url(source):
        vector = fetch_layer(source, fetch=fetch, progress=progress)
        return vector, vector.sha256 or ""
    if source.lower().startswith(("http://", "https://")):
        raise InputError(
            _("only ArcGIS REST layers can be imported from a URL"),
            hint=_("download the file and import it from disk"),
            source=source,
        )
    path = Path(source)
    key: str | None = None
    if path.is_file():
        key = _content_key(file_sha256(path), layer)
        if not again and store.imports.has(key, import_kind):
            return None, key
    vector = read_features(path, layer=layer)
    return vector, key or _content_key(vector.sha256 or "", layer)


def _content_key(digest: str, layer: str | None) -> str:
    """The file hash, or for one layer of a multi-layer file the hash of (file, layer)."""
    if layer is None:
        return digest
    return hashlib.sha256(f"{digest}\0layer={layer}".encode()).hexdigest()


def _resolve_name_field(vector: VectorLayer, wanted: str | None, source: str) -> str | None:
    if wanted is None:
        return guess_name_field(vector.columns)
    return resolve_field(vector, wanted, source, _("choose one of the fields listed for the names"))


def resolve_field(vector: VectorLayer, wanted: str, source: str, hint: str) -> str:
    """The column named ``wanted`` (case-insensitive), or :class:`InputError` listing the fields."""
    columns = vector.columns
    if wanted in columns:
        return wanted
    by_lower = {c.lower(): c for c in columns}
    if wanted.lower() in by_lower:
        return by_lower[wanted.lower()]
    raise InputError(
        _(
            "the file has no field {field}; its fields are: {fields}",
            field=wanted,
            fields=", ".join(columns[:30]) or "-",
        ),
        hint=hint,
        source=source,
    )


def _build_territories(
    vector: VectorLayer, kind: TerritoryKind, name_field: str | None, source: str
) -> tuple[list[Territory], list[str]]:
    territories: list[Territory] = []
    dropped: list[str] = []
    shapes: Counter[str] = Counter()
    ids = vector.ids or [None] * len(vector.features)
    with_tenure = kind in _TENURE_KINDS
    for position, (feature, fid) in enumerate(zip(vector.features, ids, strict=True), 1):
        geom, props, label = feature
        poly = polygonal_part(geom)
        if poly is None:
            shape = _shape_of(geom)
            shapes[shape] += 1
            dropped.append(f"{label}: {_DROP_REASONS[shape]()}")
            continue
        name = text_value(props.get(name_field)) if name_field else None
        territories.append(
            Territory(
                name=name or _("{kind} {n}", kind=kind_name(kind), n=position),
                kind=kind,
                geometry=poly,
                source=source,
                source_id=fid,
                people=guess_people(props),
                tenure=guess_tenure(props) if with_tenure else Tenure.UNKNOWN,
                title_date=guess_title_date(props) if with_tenure else None,
                attributes=jsonable(props),
            )
        )
    if not territories:
        if not vector.features:
            raise InputError(
                _("the file has no features"),
                hint=_("check that it is the right file or layer"),
                source=source,
            )
        raise InputError(
            _("the file has no polygons: it holds {summary}", summary=_summary(shapes)),
            hint=_(
                "territories must be polygons: choose the layer with the boundaries "
                "(layer option), or draw them as polygons in QGIS"
            ),
            source=source,
        )
    return territories, dropped


def _shape_of(geom: Any) -> str:
    if geom is None or geom.is_empty:
        return "none"
    gtype = geom.geom_type
    if gtype in ("Point", "MultiPoint"):
        return "point"
    if gtype in ("LineString", "MultiLineString", "LinearRing"):
        return "line"
    return "other"


_DROP_REASONS = {
    "none": lambda: _("it has no geometry"),
    "point": lambda: _("it is a point, not a polygon"),
    "line": lambda: _("it is a line, not a polygon"),
    "other": lambda: _("it has no polygon"),
}


def _summary(shapes: Counter[str]) -> str:
    parts = []
    if shapes["point"]:
        parts.append(ngettext("{n} point", "{n} points", shapes["point"]))
    if shapes["line"]:
        parts.append(ngettext("{n} line", "{n} lines", shapes["line"]))
    if shapes["other"]:
        parts.append(ngettext("{n} other geometry", "{n} other geometries", shapes["other"]))
    if shapes["none"]:
        parts.append(ngettext("{n} feature without geometry",
                              "{n} features without geometry",
                              shapes["none"]))
    return ", ".join(parts)


def text_value(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    text = " ".join(str(value).split())
    return text or None


def jsonable(value: Any) -> Any:
    """Attributes as JSON-safe values (dates as ISO text, NaN as null, bytes left out)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, Mapping):
        return {
            str(k): jsonable(v) for k, v in value.items() if not isinstance(v, bytes | bytearray)
        }
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return None
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return jsonable(item())
    return str(value)
