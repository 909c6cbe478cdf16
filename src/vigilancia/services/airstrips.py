"""Runway candidates of a workspace, as objects a coordinator can map and verify.

:func:`find_runways` reads the stored clearings (all, or some batches), joins the
patches that line up along one axis into runway candidates
(:func:`vigilancia.domain.airstrips.runway_candidates`, through
:func:`vigilancia.services.features.iter_feature_parts`, as the classification
does), scores each candidate with the transparent rules on its shape and its
members' context, and matches it to the known airstrips imported with
``vigilancia layers import ... --kind airstrip`` (re-clearing of a known runway).
The clearings of every candidate take the candidate's prediction
(:func:`vigilancia.services.classify.store_runway_drivers`): those of a likely
runway become airstrips, so that cases, care flags and exports see the runway. Work is done in local
equal-area frames; the result is in EPSG:4326.

>>> result = find_runways(store)  # doctest: +SKIP
>>> result.frame[["length_m", "airstrip_probability", "known_airstrip"]]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vigilancia.domain.airstrips import match_known
from vigilancia.domain.context import ContextKind
from vigilancia.domain.drivers import DRIVERS, Driver
from vigilancia.io.crs import WGS84, transform_geometries
from vigilancia.services.classify import RunwayCollector, likely_runways, store_runway_drivers
from vigilancia.services.export import ExportFormat, check_output, write_layer
from vigilancia.services.texts.columns import layer_name, localise
from vigilancia.services.texts.drivers import prediction_text

if TYPE_CHECKING:
    import geopandas

    from vigilancia.io.store import WorkspaceStore

__all__ = ["LAYER", "RunwayResult", "find_runways"]

#: Layer name of the runway candidates in exported files.
LAYER = "runway_candidates"
#: A candidate lies on a known airstrip when at least half of it runs within this distance (m).
KNOWN_TOLERANCE_M = 100.0


@dataclass(frozen=True)
class RunwayResult:
    """The candidates (one row each, EPSG:4326 centre-lines) and, when written, the file.

    ``airstrip_clearings``: clearings that took the airstrip driver from a likely
    candidate.
    """

    frame: geopandas.GeoDataFrame
    likely: int
    on_known: int
    path: Path | None = None
    airstrip_clearings: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the counts, the file, and each candidate's columns (without
        its centre-line)."""
        columns = [c for c in self.frame.columns if c != self.frame.geometry.name]
        return {
            "candidates": len(self.frame),
            "likely": self.likely,
            "on_known": self.on_known,
            "airstrip_clearings": self.airstrip_clearings,
            "path": self.path,
            "rows": self.frame[columns].to_dict("records"),
        }


def find_runways(
    store: WorkspaceStore,
    batch_ids: Sequence[int] | None = None,
    *,
    output: Path | None = None,
    fmt: ExportFormat = "gpkg",
    overwrite: bool = False,
) -> RunwayResult:
    """Runway candidates among the stored clearings, scored and matched to known airstrips.

    Columns: ``length_m``, ``width_m``, ``orientation_deg`` (clockwise from
    north), ``first_date``/``last_date``, ``n_clearings`` and ``clearing_ids``
    (the member clearings, along the centre-line), ``fill`` (share of the
    centre-line cleared), ``branches``, ``airstrip_probability`` (rules),
    ``likely`` (airstrip is its most likely driver), ``known_airstrip`` (name
    or id of the known airstrip it lies on, None when new),
    ``known_distance_m`` and ``text`` (the reasons in the user's language).
    The clearings of each candidate take its prediction (those of the likely
    ones, the airstrip driver; one transaction). With ``output`` the candidates
    are also written there (``fmt``: gpkg, geojson, csv or fgb).
    """
    import geopandas as gpd

    from vigilancia.services.features import iter_feature_parts

    if output is not None:
        output = check_output(output, fmt, overwrite=overwrite)
    found = RunwayCollector()
    with store.transaction() as conn:
        for part in iter_feature_parts(store, batch_ids=batch_ids, conn=conn, runways=True,
                                       clearings=False):
            found.add(part.runways)
        preds = found.predict()
        written = store_runway_drivers(store, conn, found, preds)
    columns = [
        "length_m", "width_m", "orientation_deg", "first_date", "last_date", "n_clearings",
        "clearing_ids", "fill", "branches", "airstrip_probability", "likely", "known_airstrip",
        "known_distance_m", "text",
    ]  # fmt: skip
    candidates = found.candidates
    if not candidates:
        empty = gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs="EPSG:4326")
        return _finish(empty, output, fmt)
    p_air = preds.probabilities[:, DRIVERS.index(Driver.AIRSTRIP)]
    known = store.context.features([ContextKind.AIRSTRIP])
    known_at = np.full(len(candidates), -1, np.int64)
    known_m = np.full(len(candidates), np.nan)
    lines = np.empty(len(candidates), dtype=object)
    for crs in {id(c): c for c in found.crs}.values():  # one frame at a time
        rows = np.flatnonzero([c is crs for c in found.crs])
        group = [candidates[i] for i in rows]
        known_geoms = transform_geometries(np.asarray(known.geometry, dtype=object), WGS84, crs)
        matches = match_known(group, known_geoms, KNOWN_TOLERANCE_M)
        known_at[rows], known_m[rows] = matches.known, matches.distance_m
        lines[rows] = transform_geometries(
            np.array([c.centreline for c in group], dtype=object), crs, WGS84)
    names = [None if k < 0 else (known.name[k] or f"#{int(known.id[k])}") for k in known_at]
    frame = gpd.GeoDataFrame(
        {
            "length_m": [round(c.length_m, 1) for c in candidates],
            "width_m": [round(c.width_m, 1) for c in candidates],
            "orientation_deg": [round(c.orientation_deg, 1) for c in candidates],
            "first_date": [c.first_date.isoformat() if c.first_date else None for c in candidates],
            "last_date": [c.last_date.isoformat() if c.last_date else None for c in candidates],
            "n_clearings": [len(c.members) for c in candidates],
            "clearing_ids": [",".join(str(m) for m in c.members) for c in candidates],
            "fill": [round(c.fill, 3) for c in candidates],
            "branches": [c.branches for c in candidates],
            "airstrip_probability": np.round(p_air, 4),
            "likely": likely_runways(preds),
            "known_airstrip": names,
            "known_distance_m": np.round(known_m, 1),
            "text": [
                prediction_text(Driver.AIRSTRIP, float(p), reasons)
                for p, reasons in zip(p_air, preds.reasons, strict=True)
            ],
        },
        geometry=list(lines),
        crs="EPSG:4326",
    )
    frame = frame.sort_values("airstrip_probability", ascending=False, kind="stable")
    airstrips = sum(d == Driver.AIRSTRIP.value for d in written.values())
    return _finish(frame.reset_index(drop=True), output, fmt, airstrips)


def _finish(frame: geopandas.GeoDataFrame, output: Path | None, fmt: str,
            written: int = 0) -> RunwayResult:
    if output is not None:
        write_layer(localise(frame), output, fmt, layer_name(LAYER))
    likely = int(frame["likely"].sum()) if len(frame) else 0
    on_known = int(frame["known_airstrip"].notna().sum()) if len(frame) else 0
    return RunwayResult(frame, likely, on_known, output, written)
