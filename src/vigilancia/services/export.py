"""Export the clearings of a workspace to files that open in QGIS (and Excel, for CSV).

Formats:
- ``gpkg``: GeoPackage, layer ``clearings`` (MultiPolygon, EPSG:4326);
- ``geojson``: GeoJSON FeatureCollection (EPSG:4326);
- ``fgb``: FlatGeobuf with a spatial index;
- ``csv``: UTF-8 (with BOM, so that Excel shows accents) with the geometry as a
  ``WKT`` column first and ``lon``/``lat`` columns (clearing centroid) last.

Dates are ISO ``YYYY-MM-DD`` text; areas in hectares and distances in metres
(see :meth:`vigilancia.io.store.clearings.ClearingRepository.frame` for the columns).
The likely driver comes as ``driver`` (a code: coca, airstrip, mining, road,
agriculture, other), ``driver_probability``, every driver's probability
(``prob_coca``, ``prob_airstrip``...), ``driver_reasons`` (JSON), ``driver_text`` (the
prediction and its reasons in the user's language) and ``model_version``. Column names
and coded values are written in the user's language
(:func:`vigilancia.services.texts.columns.localise`: ``primera_fecha``, ``causa`` =
``pista``... in Spanish), and so is the layer name (``claros`` / ``clearings``).

The export can be limited to one territory (the clearings that overlap it or lie within
the buffer around it, nearest to it), to a period (clearings with alerts on or after
``since`` and on or before ``until``) and to one likely driver.
The file is written under a temporary name in the same folder and moved into
place at the end, so a failed export leaves nothing half-written, and an
existing file is only replaced with ``overwrite=True``.

>>> export_clearings(store, Path("out/claros.gpkg"), "gpkg", driver=Driver.COCA)  # doctest: +SKIP
ExportResult(path=PosixPath('out/claros.gpkg'), count=123, format='gpkg')
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from vigilancia.domain.drivers import Driver
from vigilancia.domain.territories import TerritoryKind
from vigilancia.errors import ConflictError, InputError, VigilanciaError
from vigilancia.i18n import _
from vigilancia.io.files import temp_dir
from vigilancia.services.texts.columns import layer_name, localise

if TYPE_CHECKING:
    import geopandas

    from vigilancia.io.store import WorkspaceStore

ExportFormat = Literal["gpkg", "geojson", "csv", "fgb"]
#: Format -> (GDAL driver, usual file suffix).
FORMATS: dict[str, tuple[str, str]] = {
    "gpkg": ("GPKG", ".gpkg"),
    "geojson": ("GeoJSON", ".geojson"),
    "csv": ("CSV", ".csv"),
    "fgb": ("FlatGeobuf", ".fgb"),
}
LAYER = "clearings"
assert set(FORMATS) == set(get_args(ExportFormat))


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: the file, how many clearings, and the format."""

    path: Path
    count: int
    format: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``path``, ``count``, ``format``."""
        return {"path": self.path, "count": self.count, "format": self.format}


def export_clearings(
    store: WorkspaceStore,
    output: Path,
    fmt: ExportFormat,
    batch_ids: Sequence[int] | None = None,
    *,
    territory: str | int | None = None,
    since: date | None = None,
    until: date | None = None,
    driver: Driver | None = None,
    overwrite: bool = False,
) -> ExportResult:
    """Write the clearings of ``store`` (all, or those of ``batch_ids``) to ``output``:
    only those of ``territory`` (name or id), with alerts between ``since`` and
    ``until`` (inclusive) and whose likely driver is ``driver``, when given.

    Raises :class:`InputError` for an unknown format, an output that is a folder or a
    period that ends before it starts, :class:`~vigilancia.errors.NotFoundError` for an
    unknown territory, and :class:`ConflictError` when ``output`` exists and
    ``overwrite`` is false.
    """
    output = check_output(output, fmt, overwrite=overwrite)
    if since is not None and until is not None and until < since:
        raise InputError(
            _("the period ends ({until}) before it starts ({since})",
              until=until.isoformat(), since=since.isoformat()),
            hint=_("give the earlier date as the start"), inputs=("since", "until"),
        )
    frame = store.clearings.frame(batch_ids)
    if territory is not None:
        from vigilancia.services.cases import find_territory

        tid = find_territory(store, territory, list(TerritoryKind)).id
        overlaps = store.clearings.overlaps(list(TerritoryKind))
        inside = set(overlaps.clearing_id[overlaps.territory_id == tid].tolist())
        near = (frame["nearest_territory_id"] == tid).fillna(False).to_numpy(bool)
        frame = frame[frame["id"].isin(inside).to_numpy() | near]
    if since is not None:
        frame = frame[(frame["last_date"] >= since.isoformat()).to_numpy(bool)]
    if until is not None:
        frame = frame[(frame["first_date"] <= until.isoformat()).to_numpy(bool)]
    if driver is not None:
        frame = frame[(frame["driver"] == Driver(driver).value).to_numpy(bool)]
    frame = _with_driver_text(frame.reset_index(drop=True))
    if fmt == "csv":  # the centroid again, last, for spreadsheets
        frame["lon"] = frame["centroid_lon"]
        frame["lat"] = frame["centroid_lat"]
    frame = localise(frame)
    write_layer(frame, output, fmt, layer_name(LAYER))
    return ExportResult(path=output, count=len(frame), format=fmt)


def check_output(output: Path, fmt: str, *, overwrite: bool = False) -> Path:
    """``output`` made absolute, after checking the format and that it may be written."""
    if fmt not in FORMATS:
        raise InputError(
            _("unknown export format: {fmt}", fmt=str(fmt)),
            hint=_("choose one of: {formats}", formats=", ".join(FORMATS)),
        )
    output = Path(output).expanduser()
    if output.is_dir():
        raise InputError(
            _("the output is a folder, not a file"),
            hint=_("give a file name, e.g. {example}", example=str(output / f"{LAYER}.{fmt}")),
            source=str(output),
        )
    if output.exists() and not overwrite:
        raise ConflictError(
            _("the file already exists"),
            hint=_("choose another file name, or allow overwriting it"),
            source=str(output),
        )
    return output


def write_layer(frame: geopandas.GeoDataFrame, output: Path, fmt: str, layer: str) -> None:
    """Write ``frame`` as layer ``layer`` of ``output``, atomically (temporary name, then move)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    tmpdir = temp_dir(output.parent, label=output.name)
    try:
        # GDAL picks behaviour from the suffix (CSV without ".csv" becomes a folder).
        tmp = tmpdir / f"{layer}{FORMATS[fmt][1]}"
        try:
            _write(frame, tmp, fmt, layer)
        except (OSError, RuntimeError) as exc:  # pyogrio errors derive from RuntimeError
            raise VigilanciaError(
                _("the export could not be written"),
                hint=_("check that the disk is not full and that the folder may be written"),
                source=str(output),
            ) from exc
        os.replace(tmp, output)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _with_driver_text(frame: geopandas.GeoDataFrame) -> geopandas.GeoDataFrame:
    """Reasons as JSON text, plus ``driver_text``: the prediction in one sentence in the
    user's language (e.g. "franja recta de 820 m × 30 m a 600 m de un río: probable pista
    de aterrizaje (85 %)")."""
    import json

    from vigilancia.domain.drivers import Reason
    from vigilancia.services.texts.drivers import prediction_text

    texts: list[str | None] = []
    for driver, p, reasons in zip(
        frame["driver"], frame["driver_probability"], frame["driver_reasons"], strict=True
    ):
        if driver is None:
            texts.append(None)
            continue
        parsed = [Reason(r["code"], r.get("params", {})) for r in reasons or []]
        texts.append(prediction_text(driver, float(p), parsed))
    frame = frame.copy()
    frame["driver_reasons"] = [
        None if r is None else json.dumps(r, ensure_ascii=False) for r in frame["driver_reasons"]
    ]
    position = frame.columns.get_loc("driver_reasons")
    frame.insert(int(position) + 1, "driver_text", texts)
    return frame


def _write(frame: geopandas.GeoDataFrame, path: Path, fmt: str, layer: str) -> None:
    import pyogrio

    driver = FORMATS[fmt][0]
    options: dict[str, Any] = {}
    if fmt == "csv":
        options["layer_options"] = {"GEOMETRY": "AS_WKT", "WRITE_BOM": "YES"}
    else:
        options["promote_to_multi"] = True
    if fmt == "fgb":
        options["layer_options"] = {"SPATIAL_INDEX": "YES"}
    pyogrio.write_dataframe(frame, path, driver=driver, layer=layer, **options)
