"""Reading vector files: GeoPackage, GeoJSON, Shapefile (zipped too), FlatGeobuf, KML, Esri JSON.

:func:`read_features` returns a :class:`VectorLayer`: every feature's geometry
in EPSG:4326 (lon, lat), its attributes and a label such as
``"feature 12 (id=ACR28)"`` that error messages and repair reports use.

Real layers are often broken, so reading repairs what it can and reports it:

- unclosed polygon rings (SERNANP's regional and private conservation areas,
  SERFOR's comunidades nativas) are closed, and the number closed per feature is
  reported;
- invalid polygons are made valid (:func:`vigilancia.domain.territories.repair_geometry`);
- rings with fewer than 3 distinct corners are dropped;
- z and m values are dropped: geometries are 2D (lon, lat).

GeoJSON and Esri JSON (the answer of an ArcGIS REST ``query?f=json``) are parsed
here with the standard library, so that the ``crs`` member is honoured (GDAL
silently falls back to EPSG:4326 when it does not know it) and unclosed rings
can be counted. Every other format goes through GDAL (pyogrio).

>>> layer = read_features("territorios.gpkg")  # doctest: +SKIP
>>> geom, props, label = layer.features[0]  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import struct
import warnings
import zipfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyogrio
import pyogrio.errors
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from vigilancia.domain.territories import Repair, close_rings, repair_geometry
from vigilancia.errors import DataFormatError, InputError, UnreadableFileError
from vigilancia.i18n import _
from vigilancia.io.crs import WGS84, parse_crs, transform_geometries

__all__ = [
    "Feature",
    "VectorLayer",
    "feature_label",
    "file_sha256",
    "read_esri_json",
    "read_features",
]

JSON_SUFFIXES = (".geojson", ".json", ".esrijson")
SHAPEFILE_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
# Layers inside a .zip that we know how to open, in order of preference.
ZIP_MEMBER_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".fgb", ".kml")
KML_DRIVERS = ("KML", "LIBKML")
# Style and time fields LIBKML adds to every placemark; dropped when they hold nothing.
_KML_HOUSEKEEPING = frozenset(
    (
        "id",
        "description",
        "timestamp",
        "begin",
        "end",
        "altitudeMode",
        "tessellate",
        "extrude",
        "visibility",
        "drawOrder",
        "icon",
    )
)

# Attribute names that identify a feature better than its position (case-insensitive).
_CODE_FIELDS = (
    "iddist",  # INEI UBIGEO
    "ubigeo",
    "codcom",
    "cod_comun",
    "acr_codi",
    "acp_codi",
    "anp_codi",
    "codigo",
)
_ID_FIELDS = ("id", "objectid", "fid", "gid", "id_field")


class Feature(NamedTuple):
    """One feature: geometry in EPSG:4326 (None when it has none), attributes and a label."""

    geometry: BaseGeometry | None
    properties: dict[str, Any]
    label: str


@dataclass(frozen=True)
class VectorLayer:
    """The features of one vector layer, reprojected to EPSG:4326.

    ``crs`` is the CRS the file was in (the geometries are already in EPSG:4326).
    ``repairs`` lists what was changed in which feature. ``ids`` holds each
    feature's id in the source (a code such as UBIGEO, the GeoJSON ``id``, the
    GeoPackage fid or the ArcGIS object id), or None. ``sha256`` identifies the
    content read (the file bytes, or the fetched pages of a web layer).
    """

    features: list[Feature]
    crs: CRS
    repairs: list[Repair]
    source: str
    layer: str | None = None
    ids: list[str | None] = field(default_factory=list)
    sha256: str | None = None

    def __len__(self) -> int:
        return len(self.features)

    @property
    def columns(self) -> list[str]:
        """Attribute names, in the order they first appear."""
        seen: dict[str, None] = {}
        for feat in self.features:
            for key in feat.properties:
                seen.setdefault(key, None)
        return list(seen)

    def geometry_counts(self) -> dict[str, int]:
        """How many features have each geometry type (``"None"`` for no geometry)."""
        return dict(
            Counter(
                f.geometry.geom_type if f.geometry is not None else "None" for f in self.features
            )
        )


@dataclass
class _Fixes:
    """What was changed while building one feature's geometry from raw coordinates."""

    closed: int = 0  # rings that were not closed
    dropped: int = 0  # rings with fewer than 3 distinct corners, removed
    renested: int = 0  # multipolygons written with a polygon's nesting, rebuilt


class _Raw(NamedTuple):
    """A feature as read, before reprojection and repair."""

    geometry: BaseGeometry | None
    properties: dict[str, Any]
    fid: Any
    fixes: _Fixes


# --------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------


def read_features(path: str | Path, *, layer: str | None = None) -> VectorLayer:
    """Read every feature of a vector file into EPSG:4326, repairing and reporting broken geometry.

    Formats: GeoPackage, GeoJSON, Esri JSON, Shapefile (``.shp`` with its
    sidecars, or a ``.zip`` holding one), FlatGeobuf, KML/KMZ, and anything
    else GDAL reads. ``layer`` picks a layer of a multi-layer file (a GeoPackage
    layer, a shapefile inside a zip); KML/KMZ folders are all read when it is
    not given.

    Raises :class:`UnreadableFileError` (missing, empty, not a vector file) or
    :class:`DataFormatError` (unknown CRS, broken geometry); every error names
    the file as ``source``.

    >>> layer = read_features("comunidades.geojson")  # doctest: +SKIP
    >>> len(layer), layer.repairs[:1]  # doctest: +SKIP
    """
    src = str(path)
    p = Path(path)
    if not p.exists():
        raise UnreadableFileError(
            _("file not found"),
            hint=_("check the path and the file name"),
            source=src,
        )
    if p.is_file() and p.stat().st_size == 0:
        raise UnreadableFileError(
            _("the file is empty (0 bytes)"),
            hint=_("copy or download it again: the transfer probably failed"),
            source=src,
        )
    digest = file_sha256(p)
    suffix = p.suffix.lower()
    if p.is_file() and (
        suffix in JSON_SUFFIXES or (suffix not in (".zip", ".kmz") and _looks_like_json(p))
    ):
        return _read_json_bytes(p.read_bytes(), src=src, gdal_path=str(p), sha256=digest)
    if p.is_file() and suffix == ".zip":
        return _read_zip(p, src=src, layer=layer, sha256=digest)
    prj = p.with_suffix(".prj") if suffix == ".shp" else None
    return _read_ogr(
        str(p),
        src=src,
        layer=layer,
        sha256=digest,
        prj_text=lambda: _read_text(prj) if prj is not None and prj.exists() else None,
    )


def file_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a file; for a ``.shp`` also of its sidecars (.shx, .dbf, .prj, .cpg).

    A directory (a folder of shapefiles, a FileGDB) is hashed file by file in
    name order.
    """
    p = Path(path)
    h = hashlib.sha256()
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file())
    elif p.suffix.lower() == ".shp":
        files = [p.with_suffix(ext) for ext in SHAPEFILE_SIDECARS if p.with_suffix(ext).exists()]
    else:
        files = [p]
    for f in files:
        if len(files) > 1:
            h.update(f.name.encode("utf-8") + b"\0")
        with f.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()


def feature_label(position: int, fid: Any = None) -> str:
    """How a feature is named to a person: ``"feature 12 (id=ACR28)"`` (position is 1-based)."""
    text = _("feature {n}", n=position)
    if fid is not None and str(fid).strip() != "":
        text += f" (id={fid})"
    return text


def read_esri_json(
    payloads: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    source: str,
    sha256: str | None = None,
) -> VectorLayer:
    """A layer from Esri JSON feature sets (ArcGIS REST ``query?f=json`` answers, one per page).

    Pages are joined in order; features whose object id already appeared in an
    earlier page are skipped (servers without a stable order repeat them).
    Geometry is handled as in :func:`read_features`, reprojected from the
    ``spatialReference`` of the pages to EPSG:4326.

    >>> page = {"spatialReference": {"wkid": 4326}, "features": [
    ...     {"attributes": {"nomcom": "A"}, "geometry": {"x": -74.9, "y": -9.4}}]}
    >>> read_esri_json(page, source="example").features[0].geometry.wkt
    'POINT (-74.9 -9.4)'
    """
    pages = [payloads] if isinstance(payloads, Mapping) else list(payloads)
    raws: list[_Raw] = []
    crs: CRS | None = None
    seen: set[Any] = set()
    for page in pages:
        page_raws, page_crs = _esri_json_features(page, source=source)
        if page_crs is not None and crs is not None and not page_crs.equals(crs):
            geoms = transform_geometries([r.geometry for r in page_raws], page_crs, crs)
            page_raws = [r._replace(geometry=g) for r, g in zip(page_raws, geoms, strict=True)]
        crs = crs or page_crs
        for raw in page_raws:
            if raw.fid is not None:
                if raw.fid in seen:
                    continue
                seen.add(raw.fid)
            raws.append(raw)
    if crs is None:
        crs = WGS84 if not raws else parse_crs(None, source=source)
    return _finish(raws, crs, src=source, layer=None, sha256=sha256)


def _esri_json_features(
    payload: Mapping[str, Any], *, source: str
) -> tuple[list[_Raw], CRS | None]:
    """Parse one Esri JSON feature set (ArcGIS REST ``query?f=json``) into raw features.

    Polygon rings are sorted by orientation (Esri: outer rings clockwise, holes
    counter-clockwise) and each hole goes into the smallest outer ring that holds
    it; unclosed rings are closed and counted. When no ring is clockwise (a
    writer that ignored the convention) rings are nested by containment instead.
    Date fields (epoch milliseconds) become UTC datetimes. Returns the features
    and the CRS named by ``spatialReference`` (None when there is none).
    """
    sr = payload.get("spatialReference")
    crs = _esri_crs(sr, source) if sr else None
    date_fields = {
        str(f.get("name"))
        for f in payload.get("fields") or []
        if isinstance(f, Mapping) and f.get("type") == "esriFieldTypeDate"
    }
    oid_field = payload.get("objectIdFieldName") or next(
        (
            str(f.get("name"))
            for f in payload.get("fields") or []
            if isinstance(f, Mapping) and f.get("type") == "esriFieldTypeOID"
        ),
        None,
    )
    features = payload.get("features")
    if not isinstance(features, list):
        raise DataFormatError(
            _("the Esri JSON has no list of features"),
            hint=_("export the layer again with f=json"),
            source=source,
        )
    out: list[_Raw] = []
    for i, feat in enumerate(features, 1):
        if not isinstance(feat, Mapping):
            raise DataFormatError(
                _("the feature is not a JSON object"),
                source=f"{source}, {feature_label(i)}",
            )
        attrs = dict(feat.get("attributes") or {})
        for name in date_fields:
            value = attrs.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                attrs[name] = datetime.fromtimestamp(value / 1000, tz=UTC)
        fid = attrs.get(oid_field) if oid_field else None
        gj = feat.get("geometry")
        if crs is None and isinstance(gj, Mapping) and gj.get("spatialReference"):
            crs = _esri_crs(gj["spatialReference"], source)
        try:
            fixes = _Fixes()
            geom = _esri_geometry(gj, fixes)
        except (TypeError, ValueError, IndexError, KeyError, shapely.errors.GEOSException) as exc:
            raise DataFormatError(
                _("the geometry has bad coordinates"),
                hint=_("open the file in QGIS and check this feature"),
                source=f"{source}, {feature_label(i, fid)}",
            ) from exc
        out.append(_Raw(geom, attrs, fid, fixes))
    return out, crs


# --------------------------------------------------------------------------------------
# JSON (GeoJSON and Esri JSON) with the standard library
# --------------------------------------------------------------------------------------


def _looks_like_json(p: Path) -> bool:
    with p.open("rb") as fh:
        head = fh.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{")


def _read_text(p: Path) -> str:
    data = p.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _read_json_bytes(
    data: bytes, *, src: str, gdal_path: str | None, sha256: str | None
) -> VectorLayer:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        if gdal_path is not None:  # GeoJSON sequences, TopoJSON written oddly ...
            try:
                return _read_ogr(gdal_path, src=src, layer=None, sha256=sha256, prj_text=None)
            except UnreadableFileError:
                pass
        raise DataFormatError(
            _(
                "the file is not valid JSON: {error} (line {line}, column {column})",
                error=exc.msg,
                line=exc.lineno,
                column=exc.colno,
            ),
            hint=_("the file may be cut short: copy or download it again"),
            source=src,
        ) from exc
    if isinstance(obj, Mapping) and _is_esri_json(obj):
        return read_esri_json(obj, source=src, sha256=sha256)
    if isinstance(obj, Mapping) and obj.get("type") in _GEOJSON_TYPES:
        raws, crs = _geojson_features(obj, src)
        return _finish(raws, crs, src=src, layer=None, sha256=sha256)
    if gdal_path is not None:  # TopoJSON and other JSON GDAL knows
        return _read_ogr(gdal_path, src=src, layer=None, sha256=sha256, prj_text=None)
    raise _not_vector(src)


def _is_esri_json(obj: Mapping[str, Any]) -> bool:
    if "type" in obj:
        return False
    if "geometryType" in obj or "spatialReference" in obj:
        return True
    feats = obj.get("features")
    return bool(
        isinstance(feats, list)
        and feats
        and isinstance(feats[0], Mapping)
        and "attributes" in feats[0]
    )


_GEOJSON_GEOMETRIES = (
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
)
_GEOJSON_TYPES = ("FeatureCollection", "Feature", *_GEOJSON_GEOMETRIES)


def _geojson_crs(obj: Mapping[str, Any], src: str) -> CRS:
    """The CRS named by a (2008-style) ``crs`` member; WGS84 when there is none (RFC 7946)."""
    member = obj.get("crs")
    if member is None:
        return WGS84
    if not isinstance(member, Mapping):
        return parse_crs(str(member), source=src)
    props = member.get("properties") or {}
    kind = str(member.get("type", "")).lower()
    if kind == "name":
        return parse_crs(props.get("name") or str(member), source=src)
    if kind == "epsg" and props.get("code") is not None:
        return parse_crs(f"EPSG:{props['code']}", source=src)
    # "link" CRSs point to files we cannot follow offline.
    value = props.get("href") or props.get("name") or json.dumps(member)[:80]
    return parse_crs(f"unknown:{value}", source=src)


def _geojson_features(obj: Mapping[str, Any], src: str) -> tuple[list[_Raw], CRS]:
    crs = _geojson_crs(obj, src)
    kind = obj.get("type")
    if kind == "FeatureCollection":
        features = obj.get("features")
        if not isinstance(features, list):
            raise DataFormatError(
                _("the FeatureCollection has no list of features"),
                hint=_("check the file in a text editor or QGIS"),
                source=src,
            )
    elif kind == "Feature":
        features = [obj]
    else:
        features = [{"type": "Feature", "properties": {}, "geometry": obj}]
    out: list[_Raw] = []
    for i, feat in enumerate(features, 1):
        if not isinstance(feat, Mapping):
            raise DataFormatError(
                _("the feature is not a JSON object"), source=f"{src}, {feature_label(i)}"
            )
        props = feat.get("properties")
        props = dict(props) if isinstance(props, Mapping) else {}
        fid = feat.get("id")
        try:
            fixes = _Fixes()
            geom = _geojson_geometry(feat.get("geometry"), fixes)
        except (TypeError, ValueError, IndexError, KeyError, shapely.errors.GEOSException) as exc:
            raise DataFormatError(
                _("the geometry has bad coordinates"),
                hint=_("open the file in QGIS and check this feature"),
                source=f"{src}, {feature_label(i, _pick_id(props, fid))}",
            ) from exc
        out.append(_Raw(geom, props, fid, fixes))
    return out, crs


def _xy(positions: Sequence[Any]) -> np.ndarray:
    """An (n, 2) float array of the x, y of GeoJSON positions (extra dimensions dropped)."""
    try:
        arr = np.asarray(positions, dtype=np.float64)
    except ValueError:  # ragged: some positions carry z, some do not
        arr = np.asarray([(p[0], p[1]) for p in positions], dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise ValueError(f"positions of shape {arr.shape}")
    return arr[:, :2]


def _ring_arrays(rings: Sequence[Any], fixes: _Fixes) -> list[np.ndarray]:
    """Close the rings and convert them; degenerate rings become empty arrays (and are counted)."""
    fixed, closed = close_rings(rings)
    fixes.closed += closed
    arrays: list[np.ndarray] = []
    for ring in fixed:
        arr = _xy(ring) if len(ring) else np.empty((0, 2))
        # (Long rings that collapse are invalid polygons that repair_geometry handles.)
        if len(arr) < 4 or (len(arr) <= 8 and len(np.unique(arr, axis=0)) < 3):
            fixes.dropped += 1
            arrays.append(np.empty((0, 2)))
        else:
            arrays.append(arr)
    return arrays


def _polygon(rings: Sequence[Any], fixes: _Fixes) -> BaseGeometry | None:
    arrays = _ring_arrays(rings, fixes)
    if not arrays or len(arrays[0]) == 0:  # no usable outer ring: its holes go too
        fixes.dropped += sum(1 for a in arrays[1:] if len(a))
        return None
    holes = [a for a in arrays[1:] if len(a)]
    return shapely.Polygon(arrays[0], holes)


def _geojson_geometry(gj: Any, fixes: _Fixes) -> BaseGeometry | None:
    """A shapely geometry from a GeoJSON geometry object (None for a null geometry)."""
    if gj is None:
        return None
    if not isinstance(gj, Mapping):
        raise TypeError("geometry is not an object")
    kind = gj.get("type")
    if kind == "GeometryCollection":
        parts = [_geojson_geometry(sub, fixes) for sub in gj.get("geometries") or []]
        return shapely.GeometryCollection([g for g in parts if g is not None])
    coords = gj.get("coordinates")
    if coords is None:
        raise ValueError(f"{kind} without coordinates")
    if kind == "Point":
        if len(coords) == 0:
            return shapely.Point()
        return shapely.Point(float(coords[0]), float(coords[1]))
    if kind == "MultiPoint":
        return shapely.MultiPoint(_xy(coords)) if coords else shapely.MultiPoint()
    if kind == "LineString":
        return shapely.LineString(_xy(coords)) if coords else shapely.LineString()
    if kind == "MultiLineString":
        return shapely.MultiLineString([_xy(line) for line in coords if len(line) >= 2])
    if kind == "Polygon":
        return _polygon(coords, fixes)
    if kind == "MultiPolygon":
        if coords and coords[0] and _is_position(coords[0][0]):
            # A MultiPolygon nested like a Polygon (a list of rings, as in SERNANP's ACR
            # layer): sort its rings into outer rings and holes by containment.
            fixes.renested += 1
            return _rings_to_polygons(coords, fixes, by_orientation=False)
        polys = [_polygon(rings, fixes) for rings in coords]
        kept = [p for p in polys if p is not None]
        return shapely.MultiPolygon(kept) if kept else None
    raise ValueError(f"unknown geometry type {kind!r}")


def _is_position(value: Any) -> bool:
    return isinstance(value, list | tuple) and len(value) >= 2 and not isinstance(value[0], list)


def _rings_to_polygons(
    rings: Sequence[Any], fixes: _Fixes, *, by_orientation: bool
) -> BaseGeometry | None:
    """Polygons from a flat list of rings.

    With ``by_orientation`` (Esri JSON) clockwise rings are outer rings and
    counter-clockwise rings holes; otherwise, or when no ring is clockwise, rings
    are nested by containment (even-odd). Each hole goes into the smallest outer
    ring that holds it; a hole outside every outer ring becomes an outer ring.
    """
    arrays = [a for a in _ring_arrays(rings, fixes) if len(a)]
    areas = [_signed_area(a) for a in arrays]
    fixes.dropped += sum(1 for s in areas if s == 0)
    arrays = [a for a, s in zip(arrays, areas, strict=True) if s != 0]
    areas = [s for s in areas if s != 0]
    outers = [a for a, s in zip(arrays, areas, strict=True) if s < 0]
    holes = [a for a, s in zip(arrays, areas, strict=True) if s > 0]
    if not by_orientation or not outers:
        outers, holes = _nest_by_containment(arrays)
    shells = [shapely.Polygon(a) for a in outers]
    assigned: list[list[np.ndarray]] = [[] for _shell in shells]
    order = sorted(range(len(shells)), key=lambda k: shells[k].area)
    for hole in holes:
        hole_poly = shapely.Polygon(hole)
        home = next((k for k in order if shells[k].covers(hole_poly)), None)
        if home is None:  # a hole crossing its shell (invalid, repaired later): where it sits
            probe = hole_poly.representative_point()
            home = next(
                (k for k in order if shells[k].contains(probe) and shells[k].area > hole_poly.area),
                None,
            )
        if home is None:  # a "hole" outside every outer ring is an outer ring written backwards
            shells.append(shapely.Polygon(hole))
            assigned.append([])
        else:
            assigned[home].append(hole)
    polys = [
        shapely.Polygon(shell.exterior.coords, hs) if hs else shell
        for shell, hs in zip(shells, assigned, strict=True)
    ]
    if not polys:
        return None
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def _signed_area(ring: np.ndarray) -> float:
    """Shoelace area of a closed ring (positive when counter-clockwise, x right and y up)."""
    x, y = ring[:, 0], ring[:, 1]
    return float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1])) / 2.0


def _nest_by_containment(rings: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Outer rings and holes by even-odd containment depth (largest rings first)."""
    order = sorted(rings, key=lambda a: -abs(_signed_area(a)))
    placed: list[shapely.Polygon] = []
    outers: list[np.ndarray] = []
    holes: list[np.ndarray] = []
    for ring in order:
        poly = shapely.Polygon(ring)
        probe = poly.representative_point()
        depth = sum(1 for other in placed if other.contains(probe))
        placed.append(poly)
        (outers if depth % 2 == 0 else holes).append(ring)
    return outers, holes


# --------------------------------------------------------------------------------------
# Esri JSON geometry
# --------------------------------------------------------------------------------------


def _esri_crs(sr: Any, src: str) -> CRS:
    if not isinstance(sr, Mapping):
        return parse_crs(sr, source=src)
    if sr.get("wkt"):
        return parse_crs(sr["wkt"], source=src)
    for key in ("latestWkid", "wkid"):
        code = sr.get(key)
        if code is None:
            continue
        for authority in ("EPSG", "ESRI"):
            try:
                return CRS.from_user_input(f"{authority}:{int(code)}")
            except Exception:  # noqa: S112 - try the next authority
                continue
        return parse_crs(f"EPSG:{code}", source=src)  # raises with a clear message
    return parse_crs(None, source=src)


def _esri_geometry(gj: Any, fixes: _Fixes) -> BaseGeometry | None:
    """A shapely geometry from an Esri JSON geometry (None for a null or empty one)."""
    if gj is None or (isinstance(gj, Mapping) and not gj):
        return None
    if not isinstance(gj, Mapping):
        raise TypeError("geometry is not an object")
    if "rings" in gj:
        return _rings_to_polygons(gj["rings"] or [], fixes, by_orientation=True)
    if "curveRings" in gj:
        raise ValueError("curved rings (ask the server with returnTrueCurves=false)")
    if "paths" in gj:
        paths = [_xy(p) for p in gj["paths"] or [] if len(p) >= 2]
        if len(paths) == 1:
            return shapely.LineString(paths[0])
        return shapely.MultiLineString(paths)
    if "points" in gj:
        pts = gj["points"] or []
        return shapely.MultiPoint(_xy(pts)) if pts else shapely.MultiPoint()
    if "x" in gj:
        x, y = gj.get("x"), gj.get("y")
        if x is None or y is None or x == "NaN":
            return None
        return shapely.Point(float(x), float(y))
    raise ValueError("unknown Esri geometry")


# --------------------------------------------------------------------------------------
# GDAL (pyogrio) formats
# --------------------------------------------------------------------------------------


def _not_vector(src: str, detail: str | None = None) -> UnreadableFileError:
    return UnreadableFileError(
        _("not a vector file that can be read"),
        hint=_(
            "use GeoPackage, GeoJSON, Shapefile (.shp or .zip), KML/KMZ, FlatGeobuf or Esri JSON"
        ),
        source=src if not detail else f"{src} ({detail})",
    )


def _read_zip(p: Path, *, src: str, layer: str | None, sha256: str) -> VectorLayer:
    try:
        with zipfile.ZipFile(p) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/") and "__MACOSX" not in n]
            candidates = [n for n in names if n.lower().endswith(ZIP_MEMBER_SUFFIXES)]
            if layer is not None:
                chosen = [n for n in candidates if Path(n).stem == layer or n == layer]
                if not chosen:
                    chosen = candidates  # maybe a layer inside a GeoPackage
            else:
                chosen = candidates
            if not chosen:
                raise UnreadableFileError(
                    _("the zip file holds no vector layer"),
                    hint=_("a zipped shapefile needs at least the .shp, .shx and .dbf files"),
                    source=src,
                )
            if len(chosen) > 1:
                shown = ", ".join(Path(n).stem for n in chosen[:10])
                raise InputError(
                    _("the zip file holds {n} layers: {names}", n=len(chosen), names=shown),
                    hint=_("choose one with the layer option"),
                    source=src,
                )
            member = chosen[0]
            if member.lower().endswith((".geojson", ".json")):
                return _read_json_bytes(zf.read(member), src=src, gdal_path=None, sha256=sha256)
            prj_text: str | None = None
            if member.lower().endswith(".shp"):
                stem = member[:-4]
                prj = next(
                    (n for n in names if n[:-4] == stem and n.lower().endswith(".prj")), None
                )
                if prj is not None:
                    raw = zf.read(prj)
                    prj_text = raw.decode("utf-8", errors="replace")
    except zipfile.BadZipFile as exc:
        raise UnreadableFileError(
            _("the zip file is damaged"),
            hint=_("copy or download it again: the transfer probably failed"),
            source=src,
        ) from exc
    gdal_path = f"/vsizip/{p.resolve()}/{member}"
    inner_layer = layer if member.lower().endswith(".gpkg") else None
    return _read_ogr(
        gdal_path, src=src, layer=inner_layer, sha256=sha256, prj_text=lambda: prj_text
    )


def _read_ogr(
    gdal_path: str,
    *,
    src: str,
    layer: str | None,
    sha256: str | None,
    prj_text: Any,
) -> VectorLayer:
    """Read with GDAL; ``prj_text`` is a callable giving a shapefile's .prj text (or None)."""
    try:
        layers = pyogrio.list_layers(gdal_path)
    except pyogrio.errors.DataSourceError as exc:
        raise _not_vector(src) from exc
    names = [str(row[0]) for row in layers]
    if not names:
        raise UnreadableFileError(
            _("the file has no layers"), hint=_("check the file in QGIS"), source=src
        )
    driver = _driver(gdal_path, names[0])
    if layer is not None:
        if layer not in names:
            raise InputError(
                _(
                    "the file has no layer {layer}; its layers are: {names}",
                    layer=layer,
                    names=", ".join(names[:20]),
                ),
                hint=_("choose one of the layers listed"),
                source=src,
            )
        chosen = [layer]
    elif len(names) == 1 or driver in KML_DRIVERS:
        chosen = names
    else:
        polygonal = [str(r[0]) for r in layers if "polygon" in str(r[1]).lower()]
        if len(polygonal) == 1:
            chosen = polygonal
        else:
            raise InputError(
                _("the file holds {n} layers: {names}", n=len(names), names=", ".join(names[:20])),
                hint=_("choose one with the layer option"),
                source=src,
            )
    raws: list[_Raw] = []
    crs: CRS | None = None
    for name in chosen:
        layer_raws, layer_crs_value = _read_ogr_layer(gdal_path, name, src)
        if not layer_raws and driver in KML_DRIVERS and len(chosen) > 1:
            continue
        if layer_crs_value is None:
            text = prj_text() if prj_text is not None else None
            layer_crs = parse_crs(text.strip() if text else None, source=src)
        else:
            layer_crs = parse_crs(layer_crs_value, source=src)
        if crs is not None and not layer_crs.equals(crs):
            # Layers of one file (KML folders) in different CRSs: bring them to the first one.
            geoms = transform_geometries([r.geometry for r in layer_raws], layer_crs, crs)
            layer_raws = [r._replace(geometry=g) for r, g in zip(layer_raws, geoms, strict=True)]
        crs = crs or layer_crs
        if driver in KML_DRIVERS:
            layer_raws = [r._replace(properties=_clean_kml(r.properties)) for r in layer_raws]
        raws.extend(layer_raws)
    if crs is None:
        crs = WGS84
    return _finish(raws, crs, src=src, layer=chosen[0] if len(chosen) == 1 else None, sha256=sha256)


def _clean_kml(props: dict[str, Any]) -> dict[str, Any]:
    """Placemark attributes without LIBKML's empty style fields (tessellate=-1, icon=None ...)."""
    return {
        k: v
        for k, v in props.items()
        if not (k in _KML_HOUSEKEEPING and (v is None or v in (-1, 0)))
    }


def _driver(gdal_path: str, layer: str) -> str:
    try:
        return str(pyogrio.read_info(gdal_path, layer=layer).get("driver") or "")
    except pyogrio.errors.DataSourceError:
        return ""


def _read_ogr_layer(gdal_path: str, layer: str, src: str) -> tuple[list[_Raw], str | None]:
    try:
        with warnings.catch_warnings():
            # GDAL warns about unclosed rings; we count and report them ourselves.
            warnings.simplefilter("ignore", RuntimeWarning)
            meta, table = pyogrio.raw.read_arrow(gdal_path, layer=layer, return_fids=True)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise _not_vector(src, layer) from exc
    except pyogrio.errors.CRSError as exc:
        raise DataFormatError(
            _("unknown coordinate reference system: {crs}", crs=str(exc)[:80]),
            hint=_("reproject the file to EPSG:4326 or another EPSG code"),
            source=src,
        ) from exc
    geom_col = meta.get("geometry_name") or "wkb_geometry"
    if geom_col not in table.column_names:
        geom_col = next(
            (c for c in ("wkb_geometry", "geometry", "geom") if c in table.column_names), ""
        )
    fid_name = str(meta.get("fid_column") or "OGC_FID")
    fid_col = fid_name if fid_name in table.column_names else None
    # A GeoPackage "fid" identifies a feature; GDAL's synthetic OGC_FID (shapefile, KML) is
    # only a row number.
    meaningful_fid = fid_name != "OGC_FID"
    wkbs = table.column(geom_col).to_pylist() if geom_col else [None] * table.num_rows
    fids = table.column(fid_col).to_pylist() if fid_col else [None] * table.num_rows
    drop = [c for c in (geom_col, fid_col) if c]
    props_rows = table.drop_columns(drop).to_pylist()
    geoms = shapely.from_wkb(np.asarray(wkbs, dtype=object), on_invalid="ignore")
    raws: list[_Raw] = []
    for wkb, geom, fid, props in zip(wkbs, geoms, fids, props_rows, strict=True):
        fixes = _Fixes()
        fid_or_none = fid if meaningful_fid else None
        if wkb is not None and geom is None:  # GEOS refused it: parse it ourselves and close rings
            try:
                geom = _geojson_geometry(_wkb_to_geojson(bytes(wkb)), fixes)
            except (
                TypeError,
                ValueError,
                IndexError,
                struct.error,
                shapely.errors.GEOSException,
            ) as exc:
                raise DataFormatError(
                    _("the geometry has bad coordinates"),
                    hint=_("open the file in QGIS and check this feature"),
                    source=f"{src}, {feature_label(len(raws) + 1, fid_or_none)}",
                ) from exc
        raws.append(_Raw(geom, props, fid_or_none, fixes))
    return raws, meta.get("crs")


def _wkb_to_geojson(buf: bytes) -> dict[str, Any]:
    """Decode (ISO or extended) WKB into a GeoJSON-like dict, keeping unclosed rings as they are."""
    geom, _end = _wkb_read(buf, 0)
    return geom


def _wkb_read(buf: bytes, off: int) -> tuple[dict[str, Any], int]:
    order = "<" if buf[off] == 1 else ">"
    (code,) = struct.unpack_from(order + "I", buf, off + 1)
    off += 5
    has_z = bool(code & 0x80000000)
    has_m = bool(code & 0x40000000)
    if code & 0x20000000:  # EWKB SRID
        off += 4
    code &= 0x0FFFFFFF
    base, iso = code % 1000, code // 1000
    if iso in (1, 3):
        has_z = True
    if iso in (2, 3):
        has_m = True
    ndim = 2 + has_z + has_m
    f8 = np.dtype(order + "f8")

    def points(n: int, at: int) -> tuple[list[list[float]], int]:
        arr = np.frombuffer(buf, dtype=f8, count=n * ndim, offset=at).reshape(n, ndim)
        return arr[:, :2].tolist(), at + 8 * n * ndim

    def count(at: int) -> tuple[int, int]:
        (n,) = struct.unpack_from(order + "I", buf, at)
        return n, at + 4

    if base == 1:
        coords, off = points(1, off)
        if any(np.isnan(coords[0])):
            return {"type": "Point", "coordinates": []}, off
        return {"type": "Point", "coordinates": coords[0]}, off
    if base == 2:
        n, off = count(off)
        coords, off = points(n, off)
        return {"type": "LineString", "coordinates": coords}, off
    if base == 3:
        nrings, off = count(off)
        rings = []
        for _k in range(nrings):
            n, off = count(off)
            ring, off = points(n, off)
            rings.append(ring)
        return {"type": "Polygon", "coordinates": rings}, off
    if base in (4, 5, 6, 7):
        n, off = count(off)
        parts = []
        for _k in range(n):
            part, off = _wkb_read(buf, off)
            parts.append(part)
        if base == 7:
            return {"type": "GeometryCollection", "geometries": parts}, off
        kind = {4: "MultiPoint", 5: "MultiLineString", 6: "MultiPolygon"}[base]
        return {"type": kind, "coordinates": [p["coordinates"] for p in parts]}, off
    raise ValueError(f"WKB geometry type {code} not supported")


# --------------------------------------------------------------------------------------
# Common finishing: reprojection, repair, labels
# --------------------------------------------------------------------------------------


def _pick_id(props: Mapping[str, Any], fid: Any) -> Any:
    lookup = {str(k).lower(): k for k in props}
    for name in _CODE_FIELDS:
        key = lookup.get(name)
        if key is not None and props[key] not in (None, ""):
            return props[key]
    if fid is not None:
        return fid
    for name in _ID_FIELDS:
        key = lookup.get(name)
        if key is not None and props[key] not in (None, ""):
            return props[key]
    return None


def _is_wgs84(crs: CRS) -> bool:
    return bool(crs == WGS84 or crs.equals(WGS84, ignore_axis_order=True))


def _finish(
    raws: Iterable[_Raw], crs: CRS, *, src: str, layer: str | None, sha256: str | None
) -> VectorLayer:
    raws = list(raws)
    geoms = shapely.force_2d(np.asarray([r.geometry for r in raws], dtype=object))
    if len(geoms) and not _is_wgs84(crs):
        geoms = transform_geometries(geoms, crs, WGS84)
    features: list[Feature] = []
    repairs: list[Repair] = []
    ids: list[str | None] = []
    for i, (raw, geom) in enumerate(zip(raws, geoms, strict=True), 1):
        fid = _pick_id(raw.properties, raw.fid)
        label = feature_label(i, fid)
        fixes = raw.fixes
        if fixes.closed:
            repairs.append(
                Repair(label, _("ring not closed"), _("closed rings: {n}", n=fixes.closed))
            )
        if fixes.renested:
            repairs.append(
                Repair(
                    label,
                    _("MultiPolygon nested like a Polygon"),
                    _("sorted its rings into polygons and holes by containment"),
                )
            )
        if fixes.dropped:
            repairs.append(
                Repair(
                    label,
                    _("ring with fewer than 3 corners"),
                    _("removed rings: {n}", n=fixes.dropped),
                )
            )
        if geom is not None and geom.geom_type in ("Polygon", "MultiPolygon", "GeometryCollection"):
            fixed, made_valid = repair_geometry(geom, label)
            repairs.extend(made_valid)
            if fixed is not None or geom.geom_type != "GeometryCollection":
                geom = fixed
        elif geom is not None and geom.is_empty:
            geom = None
        features.append(Feature(geom, raw.properties, label))
        ids.append(None if fid is None else str(fid))
    return VectorLayer(
        features=features,
        crs=crs,
        repairs=repairs,
        source=src,
        layer=layer,
        ids=ids,
        sha256=sha256,
    )
