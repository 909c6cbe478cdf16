"""GPX tracks, routes and waypoints (OsmAnd, Locus Map, Garmin, CoMapeo), read with gpxpy.

The file is first parsed through defusedxml, so entity bombs are refused before
gpxpy sees it. Each waypoint becomes a ``waypoint`` observation; each track
segment (and each route) with points becomes a ``track`` observation whose time
is its first point's and ``end_time`` its last's. A GPX with no point at all is
an error: it usually means the recording was never saved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gpxpy
import gpxpy.gpx
from shapely.geometry import LineString, Point

from vigilancia.domain.field import FieldImport, FieldObservation, ObservationKind
from vigilancia.errors import DataFormatError
from vigilancia.i18n import _
from vigilancia.io.field.common import (
    ImportOptions,
    check_lonlat,
    open_bundle,
    parse_time,
    parse_xml,
)
from vigilancia.io.field.registry import Probe, register_importer

__all__ = ["GpxImporter"]


def _utc(value: Any) -> Any:
    return parse_time(value, naive_is_utc=True).utc if value is not None else None


def _text_attrs(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, "")}


@register_importer
class GpxImporter:
    """GPX 1.0/1.1 files: waypoints, tracks and routes."""

    name = "gpx"
    title = "GPX (.gpx: tracks, routes, waypoints)"

    def sniff(self, probe: Probe) -> int:
        if probe.is_container:
            return 0
        if probe.suffix == ".gpx":
            return 90
        return 60 if "<gpx" in probe.head_text() else 0

    def read(self, path: Path, *, source: str, options: ImportOptions) -> FieldImport:
        with open_bundle(path, source, options) as bundle:
            data = bundle.read(bundle.names[0])
            original = bundle.original()
        assert original is not None
        parse_xml(data, source)  # refuses entities before gpxpy parses it
        try:
            gpx = gpxpy.parse(data.decode("utf-8-sig", errors="replace"))
        except gpxpy.gpx.GPXException as exc:
            raise DataFormatError(
                _("the file is not valid GPX"),
                hint=_("export the track again from the app (OsmAnd, Locus Map, Garmin)"),
                source=source,
            ) from exc
        observations = self._observations(gpx, source)
        if not observations:
            raise DataFormatError(
                _("the GPX file has no waypoints, tracks or routes with points"),
                hint=_(
                    "check that the track was recorded and saved before exporting it, "
                    "then export it again"
                ),
                source=source,
            )
        return FieldImport(
            format=self.name,
            source=source,
            observations=tuple(observations),
            files=(original,),
        )

    def _observations(self, gpx: gpxpy.gpx.GPX, source: str) -> list[FieldObservation]:
        out: list[FieldObservation] = []
        for i, wpt in enumerate(gpx.waypoints, 1):
            where = _("waypoint {n}", n=i) + (f" ({wpt.name})" if wpt.name else "")
            check_lonlat(wpt.longitude, wpt.latitude, f"{source}, {where}")
            out.append(
                FieldObservation(
                    source_format=self.name,
                    source_file=source,
                    record_id=f"wpt-{i}",
                    kind=ObservationKind.WAYPOINT,
                    geometry=Point(wpt.longitude, wpt.latitude),
                    time=_utc(wpt.time),
                    altitude_m=wpt.elevation,
                    attributes=_text_attrs(
                        name=wpt.name,
                        description=wpt.description,
                        comment=wpt.comment,
                        symbol=wpt.symbol,
                        type=wpt.type,
                    ),
                    notes=wpt.description or wpt.comment or None,
                    accuracy_m=wpt.horizontal_dilution,
                )
            )
        for t, track in enumerate(gpx.tracks, 1):
            for s, segment in enumerate(track.segments, 1):
                pts = segment.points
                if not pts:
                    continue
                where = _("track {n}, segment {s}", n=t, s=s)
                out.append(
                    self._line(
                        pts, f"trk-{t}-{s}", where, source,
                        _text_attrs(name=track.name, description=track.description,
                                    type=track.type, segment=s),
                    )
                )
        for r, route in enumerate(gpx.routes, 1):
            if route.points:
                out.append(
                    self._line(
                        route.points, f"rte-{r}", _("route {n}", n=r), source,
                        _text_attrs(name=route.name, description=route.description,
                                    gpx_element="route"),
                    )
                )
        return out

    def _line(
        self, pts: list[Any], record_id: str, where: str, source: str, attrs: dict[str, Any]
    ) -> FieldObservation:
        coords = []
        for p in pts:
            check_lonlat(p.longitude, p.latitude, f"{source}, {where}")
            coords.append((p.longitude, p.latitude))
        times = [_utc(p.time) for p in pts]
        known = [t for t in times if t is not None]
        attrs["point_count"] = len(coords)
        if known:
            attrs["point_times"] = tuple(t.isoformat() if t else None for t in times)
        elevations = [p.elevation for p in pts if p.elevation is not None]
        geometry = LineString(coords) if len(coords) >= 2 else Point(coords[0])
        return FieldObservation(
            source_format=self.name,
            source_file=source,
            record_id=record_id,
            kind=ObservationKind.TRACK,
            geometry=geometry,
            time=min(known) if known else None,
            end_time=max(known) if known else None,
            altitude_m=elevations[0] if elevations else None,
            attributes=attrs,
        )
