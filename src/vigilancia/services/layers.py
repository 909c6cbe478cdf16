"""Importing context layers (rivers, roads, trails, settlements, airstrips, borders, exits, camps).

:func:`import_layer` reads a vector file (GeoPackage, GeoJSON, Shapefile or
zipped Shapefile, KML/KMZ, FlatGeobuf, Esri JSON) or an ArcGIS REST layer,
keeps its points, lines and polygons with a name and a class read from the
attributes, and stores them as features of one :class:`ContextKind` in one
transaction, together with a record of the import. Broken polygons are
repaired and every repair reported; features without geometry are left out
and listed. The same file (or the same downloaded content) imported twice as
the same kind adds nothing.

Each imported file gets a *coverage*, the area where it was mapped: by default
its extent (the convex hull of its features plus 2 km,
:func:`~vigilancia.domain.context.extent_coverage`), or the polygons of a file
the user gives (``coverage``: a department, a basin, the area a survey
walked). Importing the same file again with a coverage replaces the coverage
and adds nothing else. :func:`layer_coverage` gives the coverage of each kind.

The driver features (:mod:`vigilancia.services.features`) measure distances to
these layers; a workspace without a layer of some kind still works (the
distances to it are unknown), and so does a place outside a layer's coverage
(the distance to that kind is unknown there, never "far").

>>> from vigilancia.io.store import WorkspaceStore  # doctest: +SKIP
>>> store = WorkspaceStore.open(Path("espacio"))  # doctest: +SKIP
>>> result = import_layer(store, "rios.geojson", "river", class_field="TIPO")  # doctest: +SKIP
>>> result.imported, result.geometries  # doctest: +SKIP
(7403, {'line': 7403})
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from vigilancia.domain.context import (
    ContextFeatures,
    ContextKind,
    LayerCoverage,
    extent_coverage,
    geometry_family,
    guess_class_field,
    guess_context_name_field,
)
from vigilancia.domain.territories import Repair
from vigilancia.errors import ConflictError, InputError
from vigilancia.i18n import _
from vigilancia.io.osm import is_osm, read_osm
from vigilancia.io.sources.arcgis import Fetch
from vigilancia.io.store.context import ContextRepository, ImportLedger
from vigilancia.io.vectors import VectorLayer, file_sha256, read_features
from vigilancia.progress import Progress
from vigilancia.services.territories import (
    jsonable,
    read_import_source,
    resolve_field,
    text_value,
)

__all__ = [
    "LayerImportResult",
    "LayerStore",
    "import_layer",
    "layer_coverage",
    "layer_summary",
    "parse_kind",
]

#: Prefix of the ``layer_imports.kind`` of context layers ("context:river", ...).
IMPORT_KIND_PREFIX = "context:"


class LayerStore(Protocol):
    """What the import needs from a workspace store (:class:`WorkspaceStore` provides it)."""

    imports: ImportLedger
    context: ContextRepository

    def transaction(self) -> Any: ...


@dataclass(frozen=True)
class LayerImportResult:
    """What one import of a context layer did.

    ``imported`` counts the features stored (0 when ``skipped_existing``: the
    same content was imported before as this kind). ``geometries`` counts them
    by family (``point``, ``line``, ``polygon``, ``mixed``). ``repairs`` lists
    the geometry repairs, ``dropped`` the features left out with the reason.
    ``name_field`` and ``class_field`` are the attributes the names and classes
    came from (None when there was none).
    """

    source: str
    kind: ContextKind
    imported: int
    skipped_existing: bool
    geometries: dict[str, int] = field(default_factory=dict)
    repairs: list[Repair] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    name_field: str | None = None
    class_field: str | None = None
    ids: list[int] = field(default_factory=list)
    import_id: int | None = None
    sha256: str | None = None
    coverage: str | None = None  # the coverage file given, or None for the layer's extent
    coverage_km2: float | None = None  # its area (None when nothing was stored)
    coverage_updated: bool = False  # an earlier import of the same file got this coverage

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: source, kind, counts by geometry family, repairs, dropped
        features, the fields used, ids, hash and coverage."""
        return {
            "source": self.source,
            "kind": self.kind,
            "imported": self.imported,
            "skipped_existing": self.skipped_existing,
            "geometries": dict(self.geometries),
            "repairs": [asdict(r) for r in self.repairs],
            "dropped": list(self.dropped),
            "name_field": self.name_field,
            "class_field": self.class_field,
            "ids": list(self.ids),
            "import_id": self.import_id,
            "sha256": self.sha256,
            "coverage": self.coverage or "extent",
            "coverage_km2": None if self.coverage_km2 is None else round(self.coverage_km2, 1),
            "coverage_updated": self.coverage_updated,
        }


def parse_kind(kind: ContextKind | str) -> ContextKind:
    """The :class:`ContextKind` named ``kind``, or :class:`InputError` listing the kinds."""
    try:
        return ContextKind(str(kind).strip().lower())
    except ValueError:
        raise InputError(
            _(
                "unknown layer kind {kind}; the kinds are: {kinds}",
                kind=str(kind),
                kinds=", ".join(k.value for k in ContextKind),
            ),
            hint=_("choose one of the kinds listed"),
            inputs="kind",
        ) from None


def import_layer(
    store: LayerStore,
    path: str | Path,
    kind: ContextKind | str,
    name_field: str | None = None,
    class_field: str | None = None,
    *,
    layer: str | None = None,
    fetch: Fetch | None = None,
    progress: Progress | None = None,
    coverage: str | Path | None = None,
) -> LayerImportResult:
    """Import the features of a file or ArcGIS layer as a context layer of ``kind``.

    ``kind`` is one of river, road, trail, settlement, airstrip, border, exit
    and camp. ``name_field`` and ``class_field`` name the attributes holding
    each feature's name (``NOMBRE``, a route code such as ``COD_DS12``...) and
    class (``TIPO``: Río, Quebrada...); both are guessed when not given.
    An OpenStreetMap extract (``.osm.pbf``, ``.osm``) gives the features of
    ``kind`` (road, trail, river, airstrip or settlement; :mod:`vigilancia.io.osm`)
    with their tag (``highway``, ``waterway``, ``aeroway``, ``place``) as class.
    ``layer`` picks a layer of a multi-layer file; ``fetch`` and ``progress``
    go to :func:`~vigilancia.io.sources.arcgis.fetch_layer` for ``http(s)``
    ArcGIS REST layers. ``coverage``: a vector file whose polygons are the area
    the layer was mapped in (default: the layer's extent, the convex hull of its
    features plus 2 km); given for a file imported before, it replaces that
    import's coverage (``coverage_updated``) and nothing else is added.

    Points, lines and polygons are all kept; features without geometry are
    left out and listed in ``dropped``. Raises :class:`InputError` for an
    unknown kind, a file without features or geometries, or a field that
    does not exist (the message lists the fields that do). Everything is
    stored in one transaction: on any error nothing is stored.
    """
    context_kind = parse_kind(kind)
    source = str(path)
    import_kind = f"{IMPORT_KIND_PREFIX}{context_kind.value}"
    area = None if coverage is None else read_coverage(coverage)
    if layer is None and is_osm(source):  # OpenStreetMap extract: the layer and tag of the kind
        vector, key = _read_osm_source(store, source, import_kind, context_kind)
    else:
        vector, key = read_import_source(
            store, source, import_kind, layer=layer, fetch=fetch, progress=progress
        )
    if vector is None:
        return _skipped(store, source, context_kind, import_kind, key, area, coverage)

    names = (
        guess_context_name_field(vector.columns)
        if name_field is None
        else resolve_field(
            vector, name_field, source, _("choose one of the fields listed for the names")
        )
    )
    classes = (
        guess_class_field(vector.columns)
        if class_field is None
        else resolve_field(
            vector, class_field, source, _("choose one of the fields listed for the classes")
        )
    )
    rows, families, dropped = _build_rows(vector, names, classes, source)

    skipped = LayerImportResult(
        source=source,
        kind=context_kind,
        imported=0,
        skipped_existing=True,
        name_field=names,
        class_field=classes,
        sha256=key,
    )
    if area is None:
        area = extent_coverage(row[0] for row in rows)
    try:
        with store.transaction() as conn:
            if store.imports.has(key, import_kind, conn=conn):
                return skipped
            import_id = store.imports.record(conn, key, import_kind, source, len(rows))
            ids = store.context.add(conn, import_id, context_kind, rows)
            if area is not None:
                store.context.set_coverage(conn, import_id, context_kind, area,
                                           "extent" if coverage is None else "file",
                                           None if coverage is None else str(coverage))
    except ConflictError:  # a concurrent import of the same content won the race
        return skipped
    return LayerImportResult(
        source=source,
        kind=context_kind,
        imported=len(ids),
        skipped_existing=False,
        geometries=dict(sorted(families.items())),
        repairs=list(vector.repairs),
        dropped=dropped,
        name_field=names,
        class_field=classes,
        ids=list(ids),
        import_id=import_id,
        sha256=key,
        coverage=None if coverage is None else str(coverage),
        coverage_km2=None if area is None else area_km2(area),
    )


def _skipped(
    store: LayerStore,
    source: str,
    kind: ContextKind,
    import_kind: str,
    key: str,
    area: BaseGeometry | None,
    coverage: str | Path | None,
) -> LayerImportResult:
    """The result for content imported before; with a coverage given, that import's
    coverage is replaced by it."""
    updated = False
    if area is not None:
        with store.transaction() as conn:
            import_id = store.imports.find(key, import_kind, conn=conn)
            if import_id is not None:
                store.context.set_coverage(conn, import_id, kind, area, "file", str(coverage))
                updated = True
    return LayerImportResult(
        source=source, kind=kind, imported=0, skipped_existing=True, sha256=key,
        coverage=None if coverage is None else str(coverage),
        coverage_km2=area_km2(area) if updated and area is not None else None,
        coverage_updated=updated,
    )


def read_coverage(path: str | Path) -> BaseGeometry:
    """The area of a coverage file: the union of its polygons (EPSG:4326).

    Raises :class:`InputError` when the file holds no polygon (points and
    lines have no area).
    """
    vector = read_features(path)
    polygons = [f.geometry for f in vector.features
                if f.geometry is not None and not f.geometry.is_empty
                and geometry_family(f.geometry) in ("polygon", "mixed")]
    parts = [shapely.get_parts(g) for g in polygons]
    flat = [p for group in parts for p in group if p.geom_type in ("Polygon", "MultiPolygon")]
    if not flat:
        raise InputError(
            _("the coverage file has no polygons: it must outline the area the layer covers"),
            hint=_("give a file of polygons (a department, a basin, a surveyed area)"),
            source=str(path),
            inputs="coverage",
        )
    area: BaseGeometry = shapely.union_all(shapely.make_valid(np.asarray(flat, dtype=object)))
    return area


def area_km2(area: BaseGeometry) -> float:
    """The area (km²) of a lon/lat polygon, on the WGS84 ellipsoid."""
    from pyproj import Geod

    return abs(float(Geod(ellps="WGS84").geometry_area_perimeter(area)[0])) / 1e6


def layer_coverage(
    store: Any, context: ContextFeatures, *, conn: Any = None
) -> LayerCoverage:
    """The coverage of each kind of ``context`` (features read from ``store.context``).

    For each kind: the union of the stored coverages of its imports, and the
    extent (:func:`~vigilancia.domain.context.extent_coverage`) of its features
    whose import has none (layers imported before coverages were kept, or
    features stored without an import).
    """
    stored = {r.import_id: r for r in store.context.coverages(conn=conn)}
    areas: dict[str, BaseGeometry] = {}
    for kind in dict.fromkeys(context.kind.tolist()):
        feats = context.of_kind(kind)
        parts = []
        for import_id in np.unique(feats.import_id).tolist():
            record = stored.get(int(import_id)) if import_id >= 0 else None
            if record is not None:
                parts.append(record.geometry)
            else:
                parts.append(extent_coverage(feats.geometry[feats.import_id == import_id]))
        parts = [p for p in parts if p is not None]
        if parts:
            areas[str(kind)] = shapely.union_all(np.asarray(parts, dtype=object))
    return LayerCoverage(areas)


def _read_osm_source(
    store: LayerStore, source: str, import_kind: str, kind: ContextKind
) -> tuple[VectorLayer | None, str]:
    """The features of an OSM extract for ``kind``, or None when that file was imported so."""
    path = Path(source)
    if path.is_file():
        key = file_sha256(path)
        if store.imports.has(key, import_kind):
            return None, key
    vector = read_osm(path, kind.value)
    return vector, vector.sha256 or ""


def layer_summary(store: Any) -> list[tuple[ContextKind, int]]:
    """Stored context features per kind, in the order of :class:`ContextKind` (0 where none)."""
    counts: dict[str, int] = store.context.count_by_kind()
    return [(kind, int(counts.get(kind.value, 0))) for kind in ContextKind]


def _build_rows(
    vector: VectorLayer, name_field: str | None, class_field: str | None, source: str
) -> tuple[list[tuple[Any, str | None, str | None, Any]], Counter[str], list[str]]:
    rows: list[tuple[Any, str | None, str | None, Any]] = []
    families: Counter[str] = Counter()
    dropped: list[str] = []
    for geom, props, label in vector.features:
        family = geometry_family(geom)
        if family is None:
            dropped.append(f"{label}: {_('it has no geometry')}")
            continue
        families[family] += 1
        rows.append(
            (
                geom,
                text_value(props.get(name_field)) if name_field else None,
                text_value(props.get(class_field)) if class_field else None,
                jsonable(props) or None,
            )
        )
    if not rows:
        if not vector.features:
            raise InputError(
                _("the file has no features"),
                hint=_("check that it is the right file or layer"),
                source=source,
            )
        raise InputError(
            _("none of the {n} features of the file has a geometry", n=len(vector.features)),
            hint=_(
                "a context layer needs points, lines or polygons: check the file in QGIS, "
                "or choose another layer (layer option)"
            ),
            source=source,
        )
    return rows, families, dropped
