"""GPX 1.1 of the package: waypoints, the route and its path (Locus Map, OsmAnd, Garmin).

One waypoint per case (``name`` the case code, ``desc`` what to know before
going, ``sym`` a symbol Garmin devices know), the planned visits as a route
(``rte``: start, stops in order, back to the start) that navigation apps follow
point by point, and the route's path along trails and rivers as a track
(``trk``), which Garmin devices and OsmAnd draw as a line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import gpxpy.gpx
from shapely.geometry import LineString, MultiLineString

from vigilancia.io.files import replace_bytes
from vigilancia.io.package.common import COORD_DECIMALS

__all__ = ["GpxPoint", "gpx_document", "write_gpx"]


@dataclass(frozen=True)
class GpxPoint:
    """A waypoint or route point: name, lon/lat, and optionally a description, a
    comment, a symbol (Garmin names: ``Flag, Red``, ``Waypoint``...) and a type."""

    name: str
    lon: float
    lat: float
    description: str | None = None
    comment: str | None = None
    symbol: str | None = None
    type: str | None = None


def _round(v: float) -> float:
    return round(float(v), COORD_DECIMALS)


def gpx_document(
    *,
    name: str,
    description: str,
    waypoints: Sequence[GpxPoint],
    route: Sequence[GpxPoint] = (),
    route_name: str | None = None,
    track: LineString | MultiLineString | None = None,
    time: datetime | None = None,
) -> gpxpy.gpx.GPX:
    """The GPX document (gpxpy) of the waypoints, the route (when it has two points or
    more) and the track (when given)."""
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "vigilancia"
    gpx.name = name
    gpx.description = description
    gpx.time = time
    for p in waypoints:
        gpx.waypoints.append(gpxpy.gpx.GPXWaypoint(
            latitude=_round(p.lat), longitude=_round(p.lon), name=p.name,
            description=p.description, comment=p.comment, symbol=p.symbol, type=p.type,
        ))
    if len(route) >= 2:
        rte = gpxpy.gpx.GPXRoute(name=route_name or name)
        for p in route:
            rte.points.append(gpxpy.gpx.GPXRoutePoint(
                latitude=_round(p.lat), longitude=_round(p.lon), name=p.name,
                description=p.description, comment=p.comment, symbol=p.symbol, type=p.type,
            ))
        gpx.routes.append(rte)
    if track is not None and not track.is_empty:
        trk = gpxpy.gpx.GPXTrack(name=route_name or name)
        lines = list(track.geoms) if isinstance(track, MultiLineString) else [track]
        for line in lines:
            seg = gpxpy.gpx.GPXTrackSegment()
            for x, y, *_ in line.coords:
                seg.points.append(gpxpy.gpx.GPXTrackPoint(latitude=_round(y),
                                                          longitude=_round(x)))
            trk.segments.append(seg)
        gpx.tracks.append(trk)
    return gpx


def write_gpx(path: Path, gpx: gpxpy.gpx.GPX) -> Path:
    """Write a document of :func:`gpx_document` as GPX 1.1 (UTF-8) to ``path``."""
    return replace_bytes(path, gpx.to_xml(version="1.1").encode("utf-8"))
