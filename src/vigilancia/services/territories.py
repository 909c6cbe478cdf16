"""Importing territories (community lands, reserves, protected areas, districts) into a workspace.

:func:`import_territories` reads a vector file or an ArcGIS REST layer, repairs
the geometry (reporting every repair), builds :class:`Territory` objects with a
name, people, tenure and title date guessed from the attributes, and stores them
in one transaction together with a record of the import. The same file (or the
same downloaded content) imported twice as the same kind adds nothing.

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
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from vigilancia.domain.territories import (
    Repair,
    Tenure,
    Territory,
    TerritoryKind,
    guess_name_field,
    guess_people,
    guess_tenure,
    guess_title_date,
    polygonal_part,
)
from vigilancia.errors import ConflictError, InputError
from vigilancia.i18n import _, ngettext
from vigilancia.io.sources.arcgis import Fetch, fetch_layer, is_arcgis_url
from vigilancia.io.store.context import ImportLedger
from vigilancia.io.store.territories import TerritoryRepository
from vigilancia.io.vectors import VectorLayer, file_sha256, read_features
from vigilancia.progress import Progress

__all__ = ["TerritoryImportResult", "TerritoryStore", "import_territories", "parse_kinds"]

#: Kinds whose tenure (titling) is read from the attributes; others are "unknown".
_TENURE_KINDS = (TerritoryKind.COMMUNITY, TerritoryKind.RESERVE)

_KIND_LABELS = {
    TerritoryKind.COMMUNITY: lambda: _("community"),
    TerritoryKind.RESERVE: lambda: _("reserve"),
    TerritoryKind.PROTECTED_AREA: lambda: _("protected area"),
    TerritoryKind.DISTRICT: lambda: _("district"),
}


class TerritoryStore(Protocol):
    """What the import needs from a workspace store (:class:`WorkspaceStore` provides it)."""

    imports: ImportLedger
    territories: TerritoryRepository

    def transaction(self) -> Any: ...


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: source, kind, counts, repairs, dropped features, ids, hash."""
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
    store: TerritoryStore,
    path_or_url: str,
    *,
    kind: TerritoryKind | str,
    name_field: str | None = None,
    layer: str | None = None,
    fetch: Fetch | None = None,
    progress: Progress | None = None,
) -> TerritoryImportResult:
    """Import the polygons of a file or ArcGIS layer as territories of ``kind``.

    ``path_or_url`` is a vector file (GeoPackage, GeoJSON, Shapefile or zipped
    Shapefile, KML/KMZ, FlatGeobuf, Esri JSON) or an ``http(s)`` URL of an ArcGIS
    REST layer (``.../MapServer/27``, ``.../FeatureServer/0``), read page by page
    (``fetch`` and ``progress`` go to :func:`~vigilancia.io.sources.arcgis.fetch_layer`).
    ``name_field`` names the attribute holding the territory name (guessed when
    not given: ``nomcom``, ``nombre``, ``NOMBDIST``, ...); ``layer`` picks a layer
    of a multi-layer file.

    Points, lines and features without geometry are left out and listed in
    ``dropped``; a file without any polygon raises :class:`InputError`. Everything
    is stored in one transaction: on any error nothing is stored.
    """
    kind = TerritoryKind(kind)
    source = str(path_or_url)
    import_kind = f"territories:{kind.value}"
    vector, key = read_import_source(
        store, source, import_kind, layer=layer, fetch=fetch, progress=progress
    )
    if vector is None:
        return TerritoryImportResult(
            source=source, kind=kind, imported=0, skipped_existing=True, sha256=key
        )

    field_name = _resolve_name_field(vector, name_field, source)
    territories, dropped = _build_territories(vector, kind, field_name, source)
    try:
        with store.transaction() as conn:
            if store.imports.has(key, import_kind, conn=conn):
                return TerritoryImportResult(
                    source=source,
                    kind=kind,
                    imported=0,
                    skipped_existing=True,
                    name_field=field_name,
                    sha256=key,
                )
            ids = store.territories.add(conn, territories)
            store.imports.record(conn, key, import_kind, source, len(ids))
    except ConflictError:  # a concurrent import of the same content won the race
        return TerritoryImportResult(
            source=source,
            kind=kind,
            imported=0,
            skipped_existing=True,
            name_field=field_name,
            sha256=key,
        )
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
    )


def read_import_source(
    store: Any,
    source: str,
    import_kind: str,
    *,
    layer: str | None = None,
    fetch: Fetch | None = None,
    progress: Progress | None = None,
) -> tuple[VectorLayer | None, str]:
    """The features of a file or ArcGIS REST layer, and the key that identifies its content.

    Returns ``(None, key)`` without reading the file when that content was
    already imported as ``import_kind`` (``store.imports.has``). Other URLs
    than ArcGIS REST layers are refused with an :class:`InputError`.
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
        if store.imports.has(key, import_kind):
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


def _kind_label(kind: TerritoryKind) -> str:
    return _KIND_LABELS[kind]()


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
                name=name or _("{kind} {n}", kind=_kind_label(kind), n=position),
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
