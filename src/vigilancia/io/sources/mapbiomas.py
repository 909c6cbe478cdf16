"""Vector alert products: MapBiomas Alerta (and files shaped like it).

:func:`read_vector_alerts` reads one file of validated deforestation alerts into
a columnar :class:`VectorAlerts`. Supported formats:

- **Parquet** (``.parquet``/``.geoparquet``), like the MapBiomas Alerta Perú
  export: ``alert_code, id, detected_at, published_at, area_ha, lat, lon`` and
  ``bbox`` as the string ``"xmin,ymin,xmax,ymax"`` (degrees). A GeoParquet
  ``geometry`` column (WKB) is read as the alert polygon.
- **CSV** (``.csv``/``.txt``) with the same columns (``,`` or ``;`` separated;
  with ``;`` a decimal comma is accepted in numbers).
- **GeoJSON, GeoPackage, Shapefile, FlatGeobuf** (anything GDAL reads through
  pyogrio) with alert polygons and attribute columns.

Column names are matched case-insensitively, ignoring ``_``/spaces, against
common aliases (``DataDetec``, ``detected_at``, ``date``, ``fecha``;
``CODEALERTA``, ``alert_code``, ``id``; ``AreaHa``, ``area_ha``, ...; see
:data:`ALIASES`). A bare ``area`` column is not used because its unit is unknown.

Rows are numbered from 1 (the CSV header is not a row); features of vector
files likewise. Every problem raises :class:`~vigilancia.errors.DataFormatError`
or :class:`~vigilancia.errors.UnreadableFileError` naming the file and the
first bad row, e.g. ``alerts.csv: row 17: detected_at '2021-13-45' is not a
date``. Parsing is vectorised (pyarrow/pandas/shapely); Python loops run only
to describe an error.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from vigilancia.domain.territories import Repair, polygonal_part
from vigilancia.errors import DataFormatError, UnreadableFileError
from vigilancia.i18n import _, ngettext
from vigilancia.io.crs import WGS84, parse_crs, transform_geometries

FloatArray = NDArray[np.float64]

PARQUET_SUFFIXES = (".parquet", ".geoparquet", ".pq")
CSV_SUFFIXES = (".csv", ".txt")
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".fgb", ".zip", ".kml", ".gml")

#: Accepted column names per role, in order of preference, normalised with
#: :func:`_norm` (lower case, letters and digits only).
ALIASES: dict[str, tuple[str, ...]] = {
    "code": (
        "alertcode", "codealerta", "codalerta", "codigoalerta", "alertacodigo",
        "alertid", "idalerta", "alertaid", "code", "codigo", "id",
    ),
    "detected": (
        "detectedat", "datadetec", "datadeteccao", "detecteddate", "detectiondate",
        "detectedon", "detected", "fechadetec", "fechadeteccion", "fechadeteccin",
        "alertdate", "date", "fecha", "data",
    ),
    "area_ha": (
        "areaha", "areahectares", "hectares", "hectareas", "areahas", "supha",
        "superficieha", "ha",
    ),
    "lat": ("lat", "latitude", "latitud"),
    "lon": ("lon", "lng", "long", "longitude", "longitud"),
    "bbox": ("bbox", "boundingbox", "bounds", "envelope"),
}
_BBOX_COLUMNS = (("xmin", "ymin", "xmax", "ymax"), ("minx", "miny", "maxx", "maxy"))
_GEOMETRY_COLUMNS = ("geometry", "geom", "wkbgeometry")


@dataclass(frozen=True)
class VectorAlerts:
    """Alerts of one vector product file, one array entry per alert.

    - ``code``: the alert code in the product (``str``, object array);
    - ``detected``: detection date (``datetime64[D]``);
    - ``area_ha``: area in hectares as published (NaN when the file has none);
    - ``geometry``: shapely geometry in EPSG:4326: the alert polygon when the
      file has one, else the polygon of its bounding box, else (a file with
      only lat/lon) the point itself;
    - ``point``: shapely Point in EPSG:4326: the given lat/lon, else the
      representative point of ``geometry``;
    - ``geometry_is_bbox``: True where ``geometry`` is not the real outline of
      the clearing (a box or a point): placement then uses ``point``;
    - ``source``: the file it was read from;
    - ``repairs``: invalid polygons that were made valid on reading.
    """

    code: NDArray[np.object_]
    detected: NDArray[np.datetime64]
    area_ha: FloatArray
    geometry: NDArray[np.object_]
    point: NDArray[np.object_]
    geometry_is_bbox: NDArray[np.bool_]
    source: str
    repairs: tuple[Repair, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.code)
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray) and len(value) != n:
                raise ValueError(f"VectorAlerts.{f.name} has {len(value)} items, not {n}")

    def __len__(self) -> int:
        return len(self.code)

    def take(self, index: NDArray[Any]) -> VectorAlerts:
        """A new set with the alerts at ``index`` (integer positions or boolean mask)."""
        arrays = {
            f.name: getattr(self, f.name)[index]
            for f in fields(self)
            if isinstance(getattr(self, f.name), np.ndarray)
        }
        return VectorAlerts(**arrays, source=self.source, repairs=self.repairs)

    def bounds(self) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat) of all geometries; NaNs when empty."""
        if len(self) == 0:
            return (np.nan, np.nan, np.nan, np.nan)
        b = shapely.total_bounds(self.geometry)
        return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))


# ---------------------------------------------------------------------------
# public entry point


def read_vector_alerts(path: str | Path, *, layer: str | None = None) -> VectorAlerts:
    """Read a MapBiomas-Alerta-like file (Parquet, CSV, GeoJSON, GeoPackage, ...).

    ``layer`` picks a layer of a multi-layer vector file (default: the first).

    >>> alerts = read_vector_alerts("mapbiomas_alerta_peru_2021_2024.parquet")  # doctest: +SKIP
    >>> alerts.detected.min()  # doctest: +SKIP
    np.datetime64('2021-01-04')
    """
    p = Path(path)
    source = str(path)
    if not p.exists():
        raise UnreadableFileError(
            _("file not found"), hint=_("check the path and the file name"), source=source
        )
    if p.is_dir():
        raise UnreadableFileError(
            _("this is a folder, not an alert file"), hint=_("give the path of one file"),
            source=source,
        )
    if p.stat().st_size == 0:
        raise UnreadableFileError(
            _("the file is empty"), hint=_("download or export the alerts again"), source=source
        )
    suffix = p.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        table = _read_parquet(p, source)
    elif suffix in CSV_SUFFIXES:
        table = _read_csv(p, source)
    elif suffix in VECTOR_SUFFIXES:
        table = _read_vector(p, source, layer)
    else:
        raise UnreadableFileError(
            _("unsupported alert file type '{suffix}'", suffix=p.suffix or p.name),
            hint=_("use Parquet, CSV, GeoJSON, GeoPackage, Shapefile or FlatGeobuf"),
            source=source,
        )
    if table.n == 0:
        raise UnreadableFileError(
            _("the file has no alerts"), hint=_("download or export the alerts again"),
            source=source,
        )
    return _parse(table)


# ---------------------------------------------------------------------------
# reading each format into a _Table of pyarrow columns


@dataclass
class _Table:
    source: str
    names: list[str]  # every column of the file, in file order
    columns: dict[str, pa.ChunkedArray]  # original name -> values (the columns read)
    n: int
    row_word: str  # "row" or "feature"
    geometry: NDArray[np.object_] | None = None  # EPSG:4326, for vector files
    decimal_comma: bool = False

    def where(self, i: int) -> str:
        """Human label of 0-based row ``i``."""
        if self.row_word == "feature":
            return _("feature {n}", n=i + 1)
        return _("row {n}", n=i + 1)


def _unreadable(source: str, kind: str, exc: BaseException) -> UnreadableFileError:
    err = UnreadableFileError(
        _("the file cannot be read as {kind}", kind=kind),
        hint=_("check that the file is complete and really is {kind}", kind=kind),
        source=source,
    )
    err.__cause__ = exc
    return err


def _read_parquet(p: Path, source: str) -> _Table:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(p)
    except (pa.ArrowException, OSError) as exc:
        raise _unreadable(source, "Parquet", exc) from exc
    names = list(schema.names)
    roles = _resolve(names)
    wanted = [c for c in _wanted_columns(roles, names) if c in names]
    geom_col = next(
        (
            c for c in names
            if _norm(c) in _GEOMETRY_COLUMNS
            and (pa.types.is_binary(schema.field(c).type)
                 or pa.types.is_large_binary(schema.field(c).type))
        ),
        None,
    )
    read_cols = wanted + ([geom_col] if geom_col and geom_col not in wanted else [])
    try:
        tb = pq.read_table(p, columns=read_cols)
        n = pq.ParquetFile(p).metadata.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise _unreadable(source, "Parquet", exc) from exc
    geometry = None
    if geom_col is not None:
        crs = _geoparquet_crs(schema.metadata or {}, geom_col, source)
        try:
            wkb = tb.column(geom_col).to_numpy(zero_copy_only=False)
            geometry = shapely.from_wkb(wkb, on_invalid="fix")
        except shapely.errors.GEOSException as exc:
            raise _unreadable(source, "GeoParquet", exc) from exc
        geometry = transform_geometries(geometry, crs, WGS84)
    cols = {c: tb.column(c) for c in wanted}
    return _Table(source, names, cols, n, "row", geometry)


def _geoparquet_crs(metadata: dict[bytes, bytes], column: str, source: str) -> CRS:
    raw = metadata.get(b"geo")
    if not raw:
        return WGS84
    try:
        geo = json.loads(raw)
        crs = geo["columns"][column].get("crs", "OGC:CRS84")
    except (ValueError, KeyError, TypeError, AttributeError):
        return WGS84
    if crs is None:
        return WGS84
    return parse_crs(json.dumps(crs) if isinstance(crs, dict) else crs, source=source)


def _read_csv(p: Path, source: str) -> _Table:
    import pyarrow.csv as pcsv

    encoding = "utf-8"
    with p.open("rb") as fh:
        head = fh.read(65536)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the end of the sample is fine
        if exc.start < len(head) - 4:
            encoding = "latin-1"
    text = head.decode(encoding, errors="replace").lstrip("\ufeff")
    first = text.splitlines()[0] if text.strip() else ""
    if not first.strip():
        raise UnreadableFileError(
            _("the file is empty"), hint=_("download or export the alerts again"), source=source
        )
    delimiter = ";" if first.count(";") > first.count(",") else ","
    header = next(csv.reader([first], delimiter=delimiter))
    try:
        tb = pcsv.read_csv(
            p,
            read_options=pcsv.ReadOptions(encoding=encoding),
            parse_options=pcsv.ParseOptions(delimiter=delimiter),
            convert_options=pcsv.ConvertOptions(
                column_types={h: pa.string() for h in header}, strings_can_be_null=True
            ),
        )
    except pa.ArrowInvalid as exc:
        _raise_ragged_csv(p, source, encoding, delimiter, exc)
        raise _unreadable(source, "CSV", exc) from exc
    except (pa.ArrowException, OSError) as exc:
        raise _unreadable(source, "CSV", exc) from exc
    cols = {name: tb.column(name) for name in tb.column_names}
    return _Table(
        source, list(cols), cols, tb.num_rows, "row", None, decimal_comma=delimiter == ";"
    )


def _raise_ragged_csv(
    p: Path, source: str, encoding: str, delimiter: str, exc: BaseException
) -> None:
    """Find the first CSV record whose field count differs from the header's."""
    with p.open(newline="", encoding=encoding, errors="replace") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        header = next(reader, [])
        for i, rec in enumerate(reader):
            if rec and len(rec) != len(header):
                raise DataFormatError(
                    _(
                        "{where} has {got} fields but the header has {want}",
                        where=_("row {n}", n=i + 1), got=len(rec), want=len(header),
                    ),
                    hint=_("quote values that contain the separator '{sep}'", sep=delimiter),
                    source=source,
                ) from exc


def _read_vector(p: Path, source: str, layer: str | None) -> _Table:
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    try:
        meta, tb = pyogrio.read_arrow(p, layer=layer)
    except (DataSourceError, DataLayerError, OSError, ValueError) as exc:
        raise _unreadable(source, _("a vector file"), exc) from exc
    geom_name = meta.get("geometry_name") or "wkb_geometry"
    geometry: NDArray[np.object_] | None = None
    if geom_name in tb.column_names:
        wkb = tb.column(geom_name).to_numpy(zero_copy_only=False)
        geometry = np.asarray(shapely.from_wkb(wkb, on_invalid="fix"), dtype=object)
        tb = tb.drop_columns([geom_name])
        if meta.get("crs") is None and not shapely.is_missing(geometry).all():
            parse_crs(None, source=source)  # raises the standard "no CRS" error
        if meta.get("crs") is not None:
            crs = parse_crs(meta["crs"], source=source)
            if not crs.equals(WGS84, ignore_axis_order=True):
                geometry = transform_geometries(geometry, crs, WGS84)
    cols = {name: tb.column(name) for name in tb.column_names}
    return _Table(source, list(cols), cols, tb.num_rows, "feature", geometry)


# ---------------------------------------------------------------------------
# column roles


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _resolve(names: Sequence[str]) -> dict[str, str | None]:
    by_norm: dict[str, str] = {}
    for name in names:
        by_norm.setdefault(_norm(name), name)
    roles: dict[str, str | None] = {}
    for role, aliases in ALIASES.items():
        roles[role] = next((by_norm[a] for a in aliases if a in by_norm), None)
    for group in _BBOX_COLUMNS:
        if all(g in by_norm for g in group):
            keys = ("bbox_xmin", "bbox_ymin", "bbox_xmax", "bbox_ymax")
            roles.update({k: by_norm[g] for k, g in zip(keys, group, strict=True)})
            break
    return roles


def _wanted_columns(roles: dict[str, str | None], names: Sequence[str]) -> list[str]:
    return [c for c in dict.fromkeys(v for v in roles.values() if v) if c in names]


def _aliases_text(role: str) -> str:
    shown = {
        "code": "alert_code, CODEALERTA, id",
        "detected": "detected_at, DataDetec, date, fecha",
        "area_ha": "area_ha, AreaHa",
        "lat": "lat, latitude",
        "lon": "lon, longitude",
    }
    return shown.get(role, role)


def _check_required(table: _Table, roles: dict[str, str | None]) -> None:
    has_geometry = table.geometry is not None and not shapely.is_missing(table.geometry).all()
    has_bbox = bool(roles.get("bbox") or roles.get("bbox_xmin"))
    has_latlon = bool(roles.get("lat") and roles.get("lon"))
    missing = []
    if roles.get("code") is None:
        missing.append(_("alert code ({names})", names=_aliases_text("code")))
    if roles.get("detected") is None:
        missing.append(_("detection date ({names})", names=_aliases_text("detected")))
    if not (has_geometry or has_bbox or has_latlon):
        missing.append(
            _("location (polygon geometry, bbox \"xmin,ymin,xmax,ymax\", or lat and lon)")
        )
    if missing:
        found = ", ".join(table.names) or _("no columns")
        raise DataFormatError(
            _("missing columns: {needed}; the file has: {found}", needed="; ".join(missing),
              found=found),
            hint=_("rename the columns or export the alerts again with them"),
            source=table.source,
        )


# ---------------------------------------------------------------------------
# parsing


def _fail(
    table: _Table, bad: NDArray[np.bool_], describe: Callable[[int], str], hint: str
) -> None:
    """Raise a DataFormatError about the first True row of ``bad`` (if any)."""
    idx = np.flatnonzero(bad)
    if len(idx) == 0:
        return
    i = int(idx[0])
    if len(idx) > 1:
        hint = hint + "; " + ngettext("{n} more row has problems like this one",
                                      "{n} more rows have problems like this one",
                                      len(idx) - 1)
    raise DataFormatError(f"{table.where(i)}: {describe(i)}", hint=hint, source=table.source)


def _column(table: _Table, name: str) -> pa.Array:
    return table.columns[name].combine_chunks()


def _py(arr: pa.Array, i: int) -> str:
    value = arr[i].as_py()
    return "" if value is None else str(value)


def _strings(arr: pa.Array) -> pa.Array:
    """String view with surrounding blanks removed and blank strings as null."""
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pc.cast(arr, pa.string())
    arr = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)


def _parse_code(table: _Table, name: str) -> NDArray[np.object_]:
    arr = _column(table, name)
    if pa.types.is_floating(arr.type):
        vals = arr.to_numpy(zero_copy_only=False)
        integral = np.isfinite(vals) & (vals == np.round(vals)) & (np.abs(vals) < 2**53)
        as_int = pc.cast(pa.array(np.where(integral, vals, 0)), pa.int64())
        arr = pc.if_else(
            pa.array(integral), pc.cast(as_int, pa.string()), pc.cast(arr, pa.string())
        )
        arr = pc.if_else(pa.array(np.isnan(vals)), pa.scalar(None, pa.string()), arr)
    out = _strings(arr)
    _fail(
        table, out.is_null().to_numpy(zero_copy_only=False),
        lambda i: _("{column} is empty", column=name),
        _("every alert needs its code"),
    )
    return np.asarray(out.to_numpy(zero_copy_only=False), dtype=object)


_DATE_FALLBACK_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d", "%d/%m/%Y %H:%M:%S", "%d.%m.%Y")


def _parse_dates(table: _Table, name: str) -> NDArray[np.datetime64]:
    arr = _column(table, name)
    t = arr.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        out = np.asarray(arr.to_numpy(zero_copy_only=False)).astype("datetime64[D]")
        missing = np.isnat(out)
    else:
        s = _strings(arr)
        text = s.to_pandas()
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
        failed = parsed.isna() & text.notna()
        for fmt in _DATE_FALLBACK_FORMATS:
            if not failed.any():
                break
            again = pd.to_datetime(text[failed], format=fmt, errors="coerce", utc=True)
            parsed = parsed.where(~failed, again)
            failed = parsed.isna() & text.notna()
        _fail(
            table, failed.to_numpy(),
            lambda i: _("{column} '{value}' is not a date", column=name, value=_py(arr, i)),
            _("write dates as YYYY-MM-DD"),
        )
        out = parsed.dt.tz_convert(None).to_numpy().astype("datetime64[D]")
        missing = np.isnat(out)
    _fail(
        table, missing,
        lambda i: _("{column} is empty", column=name),
        _("every alert needs its detection date"),
    )
    return out


def _parse_floats(table: _Table, name: str) -> FloatArray:
    """Numbers of a column (NaN where blank); an error for text that is not a number."""
    arr = _column(table, name)
    t = arr.type
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        values = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
        return np.asarray(values, dtype=np.float64)
    if pa.types.is_null(arr.type):
        return np.full(len(arr), np.nan)
    s = _strings(arr)
    if table.decimal_comma:
        s = pc.replace_substring(s, ",", ".")
    text = s.to_pandas()
    values = pd.to_numeric(text, errors="coerce")
    bad = (values.isna() & text.notna()).to_numpy()
    _fail(
        table, bad,
        lambda i: _("{column} '{value}' is not a number", column=name, value=_py(arr, i)),
        _("use a dot as decimal separator and no thousands separator"),
    )
    return np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def _parse_bbox_strings(table: _Table, name: str) -> tuple[FloatArray, NDArray[np.bool_]]:
    """(n, 4) boxes from "xmin,ymin,xmax,ymax" strings, and a mask of blank rows."""
    arr = _column(table, name)
    n = len(arr)
    t = arr.type
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        lengths = pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False)
        blank = arr.is_null().to_numpy(zero_copy_only=False) | (lengths == 0)
        good = ~blank & (lengths == 4)
        values = np.full((n, 4), np.nan)
        try:
            flat = pc.cast(pc.list_flatten(pc.filter(arr, pa.array(good))), pa.float64())
            values[good] = np.asarray(
                flat.to_numpy(zero_copy_only=False), dtype=np.float64
            ).reshape(-1, 4)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            good[:] = False
        ok = blank | good
        _check_bbox(table, name, lambda i: _py(arr, i), values, blank, ok)
        return values, blank
    s = _strings(arr)
    s = pc.replace_substring_regex(s, r"^[\[\(]\s*|\s*[\]\)]$", "")
    blank = s.is_null().to_numpy(zero_copy_only=False)
    parts = pc.split_pattern(pc.fill_null(s, ""), ",")
    lengths = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    good = ~blank & (lengths == 4)
    values = np.full((n, 4), np.nan)
    try:
        flat = pc.utf8_trim_whitespace(pc.list_flatten(pc.filter(parts, pa.array(good))))
        nums = pc.cast(flat, pa.float64()).to_numpy(zero_copy_only=False)
        values[good] = np.asarray(nums, dtype=np.float64).reshape(-1, 4)
    except pa.ArrowInvalid:
        # slow path, only to find which rows are wrong
        for i in np.flatnonzero(good):
            try:
                values[i] = [float(x) for x in _py(arr, int(i)).strip("[]() ").split(",")]
            except ValueError:
                good[i] = False
    ok = blank | good
    _check_bbox(table, name, lambda i: _py(arr, i), values, blank, ok)
    return values, blank


def _check_bbox(
    table: _Table, name: str, value_of: Callable[[int], str], values: FloatArray,
    blank: NDArray[np.bool_], ok: NDArray[np.bool_],
) -> None:
    hint = _("write the box as four numbers \"xmin,ymin,xmax,ymax\" in degrees")
    finite = np.isfinite(values).all(axis=1)
    _fail(
        table, ~blank & (~ok | ~finite),
        lambda i: _("{column} '{value}' is not four numbers xmin,ymin,xmax,ymax",
                    column=name, value=value_of(i)),
        hint,
    )
    with np.errstate(invalid="ignore"):
        swapped = (values[:, 0] > values[:, 2]) | (values[:, 1] > values[:, 3])
        outside = (
            (np.abs(values[:, [0, 2]]) > 180).any(axis=1)
            | (np.abs(values[:, [1, 3]]) > 90).any(axis=1)
        )
    _fail(
        table, ~blank & swapped,
        lambda i: _("{column} '{value}' has xmin > xmax or ymin > ymax",
                    column=name, value=value_of(i)),
        hint,
    )
    _fail(
        table, ~blank & outside,
        lambda i: _("{column} '{value}' is outside longitude -180..180 or latitude -90..90",
                    column=name, value=value_of(i)),
        hint,
    )


def _parse_bbox(
    table: _Table, roles: dict[str, str | None]
) -> tuple[FloatArray, NDArray[np.bool_]] | None:
    name = roles.get("bbox")
    if name:
        return _parse_bbox_strings(table, name)
    if roles.get("bbox_xmin"):
        keys = ("bbox_xmin", "bbox_ymin", "bbox_xmax", "bbox_ymax")
        cols = [_parse_floats(table, str(roles[k])) for k in keys]
        values = np.column_stack(cols)
        nan = np.isnan(values)
        blank: NDArray[np.bool_] = np.asarray(nan.all(axis=1), dtype=bool)
        partial: NDArray[np.bool_] = np.asarray(nan.any(axis=1) & ~blank, dtype=bool)
        label = "/".join(str(roles[k]) for k in keys)

        def value_of(i: int) -> str:
            return ",".join("" if np.isnan(v) else f"{v:g}" for v in values[i])

        _check_bbox(table, label, value_of, values, blank, ~partial)
        return values, blank
    return None


def _parse(table: _Table) -> VectorAlerts:
    roles = _resolve(table.names)
    _check_required(table, roles)
    n = table.n
    code = _parse_code(table, str(roles["code"]))
    detected = _parse_dates(table, str(roles["detected"]))

    area = np.full(n, np.nan)
    if roles.get("area_ha"):
        name = str(roles["area_ha"])
        area = _parse_floats(table, name)
        with np.errstate(invalid="ignore"):
            negative = area < 0
        _fail(
            table, negative,
            lambda i: _("{column} {value} is negative", column=name, value=area[i]),
            _("areas are in hectares and cannot be negative"),
        )

    lon = lat = np.full(n, np.nan)
    if roles.get("lat") and roles.get("lon"):
        lat_name, lon_name = str(roles["lat"]), str(roles["lon"])
        lat = _parse_floats(table, lat_name)
        lon = _parse_floats(table, lon_name)
        hint = _("check that latitude and longitude are in degrees and not swapped")
        with np.errstate(invalid="ignore"):
            _fail(
                table, np.abs(lat) > 90,
                lambda i: _("{column} {value} is out of range ({low} to {high})",
                            column=lat_name, value=lat[i], low=-90, high=90),
                hint,
            )
            _fail(
                table, np.abs(lon) > 180,
                lambda i: _("{column} {value} is out of range ({low} to {high})",
                            column=lon_name, value=lon[i], low=-180, high=180),
                hint,
            )
        half = np.isnan(lat) != np.isnan(lon)
        _fail(
            table, half,
            lambda i: _("only one of {lat} and {lon} is given", lat=lat_name, lon=lon_name),
            hint,
        )
    has_latlon = ~np.isnan(lat) & ~np.isnan(lon)

    # polygons from the file
    geometry = np.full(n, None, dtype=object)
    has_polygon = np.zeros(n, bool)
    file_points = np.full(n, None, dtype=object)
    repairs: list[Repair] = []
    if table.geometry is not None:
        geometry, has_polygon, file_points, repairs = _polygons(table)

    bbox = _parse_bbox(table, roles)
    has_box = np.zeros(n, bool)
    if bbox is not None:
        values, blank = bbox
        has_box = ~blank & ~has_polygon
        idx = np.flatnonzero(has_box)
        if len(idx):
            v = values[idx]
            geometry[idx] = shapely.box(v[:, 0], v[:, 1], v[:, 2], v[:, 3])

    has_file_point = ~shapely.is_missing(file_points)
    no_location = ~(has_polygon | has_box | has_latlon | has_file_point)
    _fail(
        table, no_location,
        lambda i: _("no polygon, bbox or lat/lon"),
        _("every alert needs a location"),
    )

    point = np.full(n, None, dtype=object)
    if has_latlon.any():
        idx = np.flatnonzero(has_latlon)
        point[idx] = shapely.points(lon[idx], lat[idx])
    idx = np.flatnonzero(~has_latlon & has_file_point)
    point[idx] = file_points[idx]
    idx = np.flatnonzero(shapely.is_missing(point))
    if len(idx):
        point[idx] = shapely.point_on_surface(geometry[idx])
    # only a point is known: it is the geometry too
    idx = np.flatnonzero(shapely.is_missing(geometry))
    geometry[idx] = point[idx]

    return VectorAlerts(
        code=code,
        detected=detected,
        area_ha=area,
        geometry=geometry,
        point=point,
        geometry_is_bbox=~has_polygon,
        source=table.source,
        repairs=tuple(repairs),
    )


def _polygons(
    table: _Table,
) -> tuple[NDArray[np.object_], NDArray[np.bool_], NDArray[np.object_], list[Repair]]:
    """Polygonal geometries of a vector file, repaired; points kept apart."""
    assert table.geometry is not None
    geoms = np.asarray(table.geometry, dtype=object)
    n = len(geoms)
    type_id = shapely.get_type_id(geoms)  # -1 missing, 0 point, 3 polygon, 6 multipolygon
    empty = shapely.is_empty(geoms) | (type_id < 0)
    polygonal = np.isin(type_id, (3, 6)) & ~empty
    points = np.full(n, None, dtype=object)
    is_point = (type_id == 0) & ~empty
    points[is_point] = geoms[is_point]
    other = ~empty & ~polygonal & ~is_point
    out = np.full(n, None, dtype=object)
    out[polygonal] = geoms[polygonal]
    for i in np.flatnonzero(other & (type_id == 7)):  # GeometryCollection
        part = polygonal_part(geoms[i])
        if part is not None:
            out[i] = part
            polygonal[i] = True
    lines = other & ~polygonal
    if lines.any():
        points[lines] = shapely.point_on_surface(geoms[lines])
    repairs: list[Repair] = []
    invalid = polygonal & ~shapely.is_valid(out)
    for i in np.flatnonzero(invalid):
        reason = shapely.is_valid_reason(out[i])
        fixed = polygonal_part(shapely.make_valid(out[i]))
        repairs.append(
            Repair(
                feature=str(i + 1),
                problem=_("invalid polygon ({reason})", reason=reason),
                action=_("made valid with shapely.make_valid"),
            )
        )
        out[i] = fixed
        if fixed is None:
            polygonal[i] = False
            points[i] = shapely.point_on_surface(geoms[i])
    return out, polygonal, points, repairs
