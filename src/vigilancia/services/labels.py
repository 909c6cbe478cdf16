"""Label files: which driver really cleared some stored clearings, to train and test the model.

Two kinds of file are read:

- **CSV** with the columns ``clearing_id`` and ``driver`` (optional:
  ``observed_at`` as YYYY-MM-DD, ``note``), or their Spanish names ``id_claro`` (or
  ``id``, as the clearings export names it), ``causa``, ``fecha`` and ``nota``; comma,
  semicolon or tab separated, UTF-8 (with or without BOM) or Latin-1 as spreadsheets
  write them;
- **vector files** (GeoJSON, GeoPackage, Shapefile, KML...) whose features have a
  ``driver`` field and a point, line or polygon, matched to stored clearings by
  location: a point labels the clearing it lies in; a line or polygon labels
  the clearing it overlaps most (longest shared length, largest shared area).
  A point or shape that misses every clearing but lies within
  :data:`MATCH_TOLERANCE_M` (one Landsat pixel, GPS error in the forest) of one
  labels the nearest. Where clearings of several batches overlap, the newest
  (highest id) wins a point.

Driver names are English or Spanish (``pista``, ``minería``, ``camino``...; see
:func:`~vigilancia.domain.driver_training.parse_driver`).

A file is all-or-nothing: an unknown driver, a label that matches no clearing
(unless ``allow_unmatched``), two labels giving one clearing different drivers,
coordinates that are not longitude/latitude or labels far from every clearing
(a wrong CRS) raise an :class:`~vigilancia.errors.InputError` naming the file and
the rows or features, and nothing is stored. The labels of one file are stored
with the source ``file:<name>@<first 12 hex digits of its SHA-256>``; the same
file imported twice adds nothing, and an edited file adds its labels as a newer
source (the newest label of a clearing wins when training).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from vigilancia.domain.driver_training import LabelRow, parse_driver, valid_driver_names
from vigilancia.domain.drivers import DRIVERS, Driver
from vigilancia.errors import DataFormatError, InputError, UnreadableFileError, action
from vigilancia.i18n import _, ngettext
from vigilancia.io.store import WorkspaceStore
from vigilancia.io.vectors import file_sha256, read_features

__all__ = [
    "IMPORT_KIND",
    "MATCH_TOLERANCE_M",
    "LabelFile",
    "LabelImportResult",
    "import_labels",
    "read_labels",
]

#: ``layer_imports.kind`` of label files.
IMPORT_KIND = "labels"
#: How far (m) a label may miss a clearing and still label the nearest one.
MATCH_TOLERANCE_M = 30.0
#: Metres per degree of latitude (the tolerance is applied in degrees).
_M_PER_DEG = 111_320.0
#: How many unmatched or bad rows an error message lists.
SHOW = 5
#: Degrees around the stored clearings within which unmatched labels are "in the area".
_AREA_MARGIN_DEG = 0.5


@dataclass(frozen=True)
class LabelFile:
    """Labels read from a file and matched to stored clearings (nothing stored yet).

    ``rows``: one per labelled clearing, ordered by clearing id. ``unmatched``:
    labels of the rows or features that matched no clearing (empty unless
    ``allow_unmatched``).
    """

    path: str
    source: str
    sha256: str
    rows: list[LabelRow]
    unmatched: list[str] = field(default_factory=list)

    def by_driver(self) -> dict[str, int]:
        counts = Counter(r.driver for r in self.rows)
        return {d.value: counts.get(d, 0) for d in DRIVERS}


@dataclass(frozen=True)
class LabelImportResult:
    """What :func:`import_labels` did: labels ``added`` (0 when ``skipped_existing``)."""

    path: str
    source: str
    added: int
    matched: int
    unmatched: int
    skipped_existing: bool
    by_driver: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "source": self.source,
            "added": self.added,
            "matched": self.matched,
            "unmatched": self.unmatched,
            "skipped_existing": self.skipped_existing,
            "by_driver": dict(self.by_driver),
        }


def import_labels(
    store: WorkspaceStore, path: str | Path, *, allow_unmatched: bool = False
) -> LabelImportResult:
    """Read a label file, match it to the stored clearings and store the labels (one transaction).

    The same file imported again adds nothing (``skipped_existing``).
    """
    src = str(path)
    p = Path(path)
    if p.is_file() and store.imports.has(file_sha256(p), IMPORT_KIND):
        sha = file_sha256(p)
        return LabelImportResult(src, _source_name(p, sha), 0, 0, 0, True,
                                 {d.value: 0 for d in DRIVERS})
    read = read_labels(store, path, allow_unmatched=allow_unmatched)
    with store.transaction() as conn:
        if store.imports.has(read.sha256, IMPORT_KIND, conn=conn):
            return LabelImportResult(src, read.source, 0, 0, 0, True,
                                     {d.value: 0 for d in DRIVERS})
        added = store.labels.add(conn, read.rows)
        store.imports.record(conn, read.sha256, IMPORT_KIND, src, added)
    return LabelImportResult(src, read.source, added, len(read.rows), len(read.unmatched), False,
                             read.by_driver())


def read_labels(
    store: WorkspaceStore, path: str | Path, *, allow_unmatched: bool = False
) -> LabelFile:
    """Read and match a label file without storing it (see the module docstring)."""
    src = str(path)
    p = Path(path)
    if not p.is_file():
        raise UnreadableFileError(
            _("file not found"), hint=_("check the path and the file name"), source=src
        )
    if p.stat().st_size == 0:
        raise UnreadableFileError(
            _("the file is empty (0 bytes)"),
            hint=_("copy or download it again: the transfer probably failed"),
            source=src,
        )
    sha = file_sha256(p)
    source = _source_name(p, sha)
    if p.suffix.lower() in (".csv", ".txt", ".tsv"):
        raw = _read_csv(p, src)
        matched, unmatched = _match_ids(store, raw, src)
    else:
        raw_geo = _read_vector(p, src)
        matched, unmatched = _match_locations(store, raw_geo, src)
    if unmatched and not allow_unmatched:
        raise InputError(
            _(
                "{n} of {total} labels match no stored clearing: {first}",
                n=len(unmatched),
                total=len(unmatched) + len(matched),
                first=_listing(unmatched),
            ),
            hint=_(
                "check the clearing ids or locations, ingest the alerts that contain them "
                "first, or leave those labels out"
            ),
            source=src,
            inputs="allow_unmatched",
        )
    rows = _one_per_clearing(matched, source, src)
    if not rows:
        raise InputError(
            _("the file holds no label that matches a stored clearing"),
            hint=_("check the clearing ids or locations"),
            source=src,
        )
    return LabelFile(src, source, sha, rows, [u for u in unmatched])


def _source_name(p: Path, sha: str) -> str:
    name = p.name[:200]
    return f"file:{name}@{sha[:12]}"


def _listing(items: Sequence[str]) -> str:
    shown = ", ".join(items[:SHOW])
    if len(items) > SHOW:
        shown += " " + _("(and {n} more)", n=len(items) - SHOW)
    return shown


@dataclass(frozen=True)
class _Raw:
    """One label as read: where it is in the file, its driver, and what locates it."""

    where: str  # "line 4", "feature 3 (id=X)"
    driver: Driver
    observed_at: date | None
    note: str | None
    clearing_id: int | None = None
    geometry: BaseGeometry | None = None


def _driver_of(value: Any, where: str, bad: list[str]) -> Driver | None:
    driver = parse_driver(value)
    if driver is None:
        bad.append(f"{where}: {str(value)[:40]!r}")
    return driver


def _unknown_drivers(bad: list[str], src: str) -> InputError:
    return InputError(
        ngettext("unknown driver class in {n} label: {first}",
                 "unknown driver class in {n} labels: {first}",
                 len(bad), first=_listing(bad)),
        hint=_("use one of: {names}", names=valid_driver_names()),
        source=src,
    )


def _date_of(value: Any, where: str, src: str) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise InputError(
            _("{where}: observed_at is not a date: {value!r}", where=where, value=str(value)[:40]),
            hint=_("write dates as YYYY-MM-DD"),
            source=src,
        ) from None


# ------------------------------------------------------------------------ CSV


def _read_csv(p: Path, src: str) -> list[_Raw]:
    data = p.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    first = text.splitlines()[0] if text.strip() else ""
    try:
        dialect: Any = csv.Sniffer().sniff(first, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        header = []
    names = _csv_names([h.strip().lower() for h in header])
    missing = [c for c in ("clearing_id", "driver") if c not in names]
    if missing:
        raise DataFormatError(
            _(
                "the label file has no column {missing}; its columns are: {found}",
                missing=", ".join(missing),
                found=", ".join(h for h in header if h) or "-",
            ),
            hint=_(
                "a CSV label file needs the columns clearing_id and driver, or id_claro and "
                "causa (optional: observed_at or fecha, note or nota)"
            ),
            source=src,
        )
    col = {n: i for i, n in reversed(list(enumerate(names)))}
    out: list[_Raw] = []
    bad_driver: list[str] = []
    bad_id: list[str] = []
    for line_no, row in enumerate(reader, start=2):
        if not any(v.strip() for v in row):
            continue
        where = _("line {n}", n=line_no)

        def cell(name: str, row: list[str] = row) -> str | None:
            i = col.get(name)
            return row[i].strip() if i is not None and i < len(row) else None

        raw_id = cell("clearing_id") or ""
        try:
            cid = int(float(raw_id)) if raw_id and float(raw_id).is_integer() else None
        except ValueError:
            cid = None
        if cid is None:
            bad_id.append(f"{where}: {raw_id[:40]!r}")
        driver = _driver_of(cell("driver"), where, bad_driver)
        if cid is None or driver is None:
            continue
        out.append(
            _Raw(where, driver, _date_of(cell("observed_at"), where, src),
                 cell("note") or None, clearing_id=cid)
        )
    if bad_id:
        raise DataFormatError(
            ngettext("clearing_id is not a whole number in {n} row: {first}",
                     "clearing_id is not a whole number in {n} rows: {first}",
                     len(bad_id), first=_listing(bad_id)),
            hint=_("use the clearing ids of the workspace, as its clearings export has them"),
            source=src,
            actions=action("clearings.export"),
        )
    if bad_driver:
        raise _unknown_drivers(bad_driver, src)
    if not out:
        raise DataFormatError(
            _("the label file has no rows"), hint=_("add one row per labelled clearing"),
            source=src,
        )
    return out


def _match_ids(
    store: WorkspaceStore, raws: list[_Raw], src: str
) -> tuple[list[tuple[_Raw, int]], list[str]]:
    ids = np.array(sorted({int(r.clearing_id or 0) for r in raws}), dtype=np.int64)
    # an id merged into another clearing by a later download means that clearing now
    now = dict(zip(ids.tolist(), store.series.resolve(ids).tolist(), strict=True))
    wanted = np.array(sorted(set(now.values())), dtype=np.int64)
    known = set(store.clearings.columns(clearing_ids=wanted).id.tolist()) if len(ids) else set()
    matched = [(r, now[int(r.clearing_id or 0)]) for r in raws
               if now.get(int(r.clearing_id or 0)) in known]
    unmatched = [f"{r.where} (clearing_id={r.clearing_id})" for r in raws
                 if now.get(int(r.clearing_id or 0)) not in known]
    return matched, unmatched


#: Spanish (and export) names of the CSV columns: name -> column read.
_CSV_ALIASES = {"id_claro": "clearing_id", "causa": "driver", "fecha": "observed_at",
                "nota": "note"}


def _csv_names(names: list[str]) -> list[str]:
    """The header with Spanish column names read as the English ones; ``id`` (the
    clearings export's id column) is the clearing id when no other column names it."""
    out = [_CSV_ALIASES.get(n, n) for n in names]
    if "clearing_id" not in out and "id" in out:
        out[out.index("id")] = "clearing_id"
    return out


# --------------------------------------------------------------------- vector


_DRIVER_FIELDS = ("driver", "causa")
_DATE_FIELDS = ("observed_at", "fecha")
_NOTE_FIELDS = ("note", "nota")


def _field(props: dict[str, Any], names: Sequence[str]) -> str | None:
    lower = {k.lower(): k for k in props}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def _read_vector(p: Path, src: str) -> list[_Raw]:
    layer = read_features(p)
    if not layer.features:
        raise DataFormatError(
            _("the label file has no features"), hint=_("add one feature per labelled clearing"),
            source=src,
        )
    columns = layer.columns
    if _field({c: None for c in columns}, _DRIVER_FIELDS) is None:
        raise DataFormatError(
            _("the label file has no driver field; its fields are: {found}",
              found=", ".join(columns[:20]) or "-"),
            hint=_("add a field named driver with the class of each feature "
                   "(coca, pista, minería, camino, agricultura, otro)"),
            source=src,
        )
    geoms = np.array([f.geometry for f in layer.features], dtype=object)
    has = np.array([g is not None for g in geoms])
    if has.any():
        b = shapely.bounds(geoms[has])
        if (np.abs(b[:, [0, 2]]) > 180).any() or (np.abs(b[:, [1, 3]]) > 90).any():
            raise DataFormatError(
                _("the coordinates are not longitudes and latitudes: the file's coordinate "
                  "reference system is wrong or missing"),
                hint=_("set the right CRS in QGIS (Layer > Set CRS) and save the file again; "
                       "GeoJSON must be in EPSG:4326 unless it names its CRS"),
                source=src,
            )
    out: list[_Raw] = []
    bad_driver: list[str] = []
    no_geom: list[str] = []
    for feat in layer.features:
        props = feat.properties
        key = _field(props, _DRIVER_FIELDS)
        driver = _driver_of(props.get(key) if key else None, feat.label, bad_driver)
        if feat.geometry is None or feat.geometry.is_empty:
            no_geom.append(feat.label)
            continue
        if driver is None:
            continue
        dkey, nkey = _field(props, _DATE_FIELDS), _field(props, _NOTE_FIELDS)
        note = props.get(nkey) if nkey else None
        out.append(
            _Raw(feat.label, driver, _date_of(props.get(dkey) if dkey else None, feat.label, src),
                 None if note in (None, "") else str(note), geometry=feat.geometry)
        )
    if no_geom:
        raise DataFormatError(
            ngettext("{n} label has no geometry: {first}",
                     "{n} labels have no geometry: {first}",
                     len(no_geom), first=_listing(no_geom)),
            hint=_("draw a point or polygon for each label, or use a CSV with clearing_id"),
            source=src,
        )
    if bad_driver:
        raise _unknown_drivers(bad_driver, src)
    return out


def _match_locations(
    store: WorkspaceStore, raws: list[_Raw], src: str
) -> tuple[list[tuple[_Raw, int]], list[str]]:
    tol = MATCH_TOLERANCE_M / _M_PER_DEG
    geoms = np.array([r.geometry for r in raws], dtype=object)
    minx, miny, maxx, maxy = (float(v) for v in shapely.total_bounds(geoms))
    cols = store.clearings.columns(bounds=(minx - tol, miny - tol, maxx + tol, maxy + tol))
    matched: list[tuple[_Raw, int]] = []
    unmatched: list[str] = []
    if len(cols):
        tree = shapely.STRtree(cols.geometry)
        for raw in raws:
            cid = _best_clearing(raw.geometry, tree, cols.geometry, cols.id, tol)
            if cid is None:
                unmatched.append(raw.where)
            else:
                matched.append((raw, cid))
    else:
        unmatched = [r.where for r in raws]
    if not matched:
        _check_area(store, (minx, miny, maxx, maxy), src)
    return matched, unmatched


def _best_clearing(
    geom: BaseGeometry | None,
    tree: shapely.STRtree,
    shapes: np.ndarray,
    ids: np.ndarray,
    tol: float,
) -> int | None:
    if geom is None:
        return None
    hits = tree.query(geom, predicate="intersects")
    if len(hits):
        kind = geom.geom_type
        if kind in ("Point", "MultiPoint"):
            return int(ids[hits].max())
        inter = shapely.intersection(shapes[hits], geom)
        measure = shapely.area(inter) if "Polygon" in kind else shapely.length(inter)
        if np.max(measure) > 0:
            best = hits[np.flatnonzero(measure == np.max(measure))]
            return int(ids[best].max())
        return int(ids[hits].max())
    near = tree.query(geom, predicate="dwithin", distance=tol)
    if not len(near):
        return None
    dist = shapely.distance(shapes[near], geom)
    return int(ids[near[int(np.argmin(dist))]])


def _check_area(
    store: WorkspaceStore, label_bounds: tuple[float, float, float, float], src: str
) -> None:
    """Raise when every label lies far from every stored clearing: most likely a wrong CRS."""
    extent = store.clearings.extent()
    if extent is None:
        raise InputError(
            _("the workspace has no clearings to label yet"),
            hint=_("ingest the alerts first, then import the labels"),
            source=src,
            actions=action("monitor"),
        )
    m = _AREA_MARGIN_DEG
    ex = (extent[0] - m, extent[1] - m, extent[2] + m, extent[3] + m)

    def meets(b: tuple[float, float, float, float]) -> bool:
        return b[0] <= ex[2] and b[2] >= ex[0] and b[1] <= ex[3] and b[3] >= ex[1]

    if meets(label_bounds):
        return
    swapped = (label_bounds[1], label_bounds[0], label_bounds[3], label_bounds[2])
    hint = (
        _("longitude and latitude seem swapped: check the axis order of the file's CRS")
        if meets(swapped)
        else _("check the file's coordinate reference system: reproject it to EPSG:4326, "
               "or set the CRS it really uses")
    )
    raise DataFormatError(
        _(
            "the labels lie far from every stored clearing (labels: {labels}; clearings: "
            "{clearings}): the file's coordinate reference system is probably wrong",
            labels=_fmt_bounds(label_bounds),
            clearings=_fmt_bounds(extent),
        ),
        hint=hint,
        source=src,
    )


def _fmt_bounds(b: tuple[float, float, float, float]) -> str:
    return f"{b[0]:.3f}, {b[1]:.3f} – {b[2]:.3f}, {b[3]:.3f}"


def _one_per_clearing(
    matched: list[tuple[_Raw, int]], source: str, src: str
) -> list[LabelRow]:
    by_id: dict[int, tuple[_Raw, LabelRow]] = {}
    clashes: list[str] = []
    for raw, cid in matched:
        row = LabelRow(cid, raw.driver, source, raw.observed_at, note=raw.note)
        prev = by_id.get(cid)
        if prev is None:
            by_id[cid] = (raw, row)
        elif prev[1].driver != raw.driver:
            clashes.append(
                _("clearing {id}: {a} ({where_a}) and {b} ({where_b})", id=cid,
                  a=prev[1].driver.value, where_a=prev[0].where, b=raw.driver.value,
                  where_b=raw.where)
            )
    if clashes:
        raise InputError(
            ngettext("{n} clearing gets two different drivers: {first}",
                     "{n} clearings get two different drivers: {first}",
                     len(clashes), first=_listing(clashes)),
            hint=_("keep one label per clearing"),
            source=src,
        )
    return [by_id[cid][1] for cid in sorted(by_id)]
