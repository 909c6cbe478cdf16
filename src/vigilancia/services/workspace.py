"""Creating and opening workspaces (one organisation's data), and their area of interest.

The area of interest is what a workspace watches: ``monitor`` reads only the
raster windows that cross it and only the vector alerts inside it, so summaries,
exports and risk cover it. It is a lon/lat box, set by the user (a box, or the
extent of a vector file) or, by default, the extent of the workspace's
territories plus the buffer (``VIGILANCIA_BUFFER_KM``); a workspace with neither
watches everything it is given.

>>> parse_area("-75.5,-10,-74.5,-9")
(-75.5, -10.0, -74.5, -9.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely

from vigilancia.config import Settings
from vigilancia.errors import InputError, UnreadableFileError
from vigilancia.i18n import _
from vigilancia.io.store import WorkspaceStore

__all__ = [
    "AreaOfInterest",
    "area_of_interest",
    "init_workspace",
    "open_workspace",
    "parse_area",
    "set_area_of_interest",
]

#: Kilometres per degree of latitude (and of longitude at the equator).
KM_PER_DEGREE = 111.32


@dataclass(frozen=True)
class AreaOfInterest:
    """The area a workspace watches: ``bounds`` (minx, miny, maxx, maxy, lon/lat degrees;
    None: everything) and where it comes from: ``"set"`` (given by the user),
    ``"territories"`` (the default: their extent plus ``buffer_km``) or ``"none"``."""

    bounds: tuple[float, float, float, float] | None
    origin: str
    buffer_km: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``bounds`` (or None), ``origin`` and ``buffer_km``."""
        return {"bounds": None if self.bounds is None else [round(v, 6) for v in self.bounds],
                "origin": self.origin, "buffer_km": self.buffer_km}


def parse_area(spec: str) -> tuple[float, float, float, float]:
    """An area from ``minlon,minlat,maxlon,maxlat`` (degrees) or a vector file (its extent).

    Raises :class:`~vigilancia.errors.InputError` naming what is wrong.
    """
    text = str(spec).strip()
    parts = [p.strip() for p in text.split(",")]
    if len(parts) == 4 and not Path(text).exists():
        try:
            minx, miny, maxx, maxy = (float(p) for p in parts)
        except ValueError:
            raise _bad_box(text) from None
        if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
            raise _bad_box(text)
        if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
            raise InputError(
                _("the area {area} is not a box of longitudes and latitudes: the minimum "
                  "must be below the maximum, longitudes within -180..180 and latitudes "
                  "within -90..90", area=text),
                hint=_("give it as minlon,minlat,maxlon,maxlat, e.g. -75.5,-10.0,-74.5,-9.0"),
            )
        return minx, miny, maxx, maxy
    path = Path(text)
    if not path.exists():
        if len(parts) > 1:
            raise _bad_box(text)
        raise UnreadableFileError(
            _("file not found"),
            hint=_("give a vector file (GeoJSON, GeoPackage, Shapefile...) or a box "
                   "minlon,minlat,maxlon,maxlat"),
            source=text,
        )
    from vigilancia.io.vectors import read_features  # (pyogrio loads only when a file is given)

    layer = read_features(path)
    geoms = [g for g, _props, _label in layer.features if g is not None and not g.is_empty]
    if not geoms:
        raise InputError(
            _("the file has no geometries to take an area from"),
            hint=_("give a file with the polygon of the area, or a box"), source=text,
        )
    minx, miny, maxx, maxy = (float(v) for v in shapely.total_bounds(geoms))
    if not (minx < maxx and miny < maxy):
        raise InputError(
            _("the features of the file cover no area (a single point or line)"),
            hint=_("give a file with the polygon of the area, or a box"), source=text,
        )
    return minx, miny, maxx, maxy


def _bad_box(text: str) -> InputError:
    return InputError(
        _("{area!r} is neither a box minlon,minlat,maxlon,maxlat nor a file", area=text),
        hint=_("give it as minlon,minlat,maxlon,maxlat, e.g. -75.5,-10.0,-74.5,-9.0, or "
               "the path of a vector file"),
    )


def area_of_interest(
    store: WorkspaceStore, settings: Settings, *, conn: Any = None
) -> AreaOfInterest:
    """The area the workspace watches now (see the module)."""
    chosen = store.get_meta("area_of_interest", conn=conn)
    if chosen:
        minx, miny, maxx, maxy = (float(v) for v in chosen)
        return AreaOfInterest((minx, miny, maxx, maxy), "set")
    extent = store.territories.extent(conn=conn)
    if extent is None:
        return AreaOfInterest(None, "none")
    km = float(settings.buffer_km)
    minx, miny, maxx, maxy = extent
    dlat = km / KM_PER_DEGREE
    widest = max(abs(miny - dlat), abs(maxy + dlat))
    dlon = km / (KM_PER_DEGREE * max(math.cos(math.radians(min(widest, 89.0))), 1e-6))
    return AreaOfInterest(
        (max(-180.0, minx - dlon), max(-90.0, miny - dlat), min(180.0, maxx + dlon),
         min(90.0, maxy + dlat)),
        "territories", km,
    )


def set_area_of_interest(store: WorkspaceStore, settings: Settings,
                         spec: str | None) -> AreaOfInterest:
    """Set the workspace's area (``spec`` as :func:`parse_area`), or go back to the default
    (the territories plus the buffer) with None. Returns the area now watched."""
    bounds = None if spec is None else parse_area(spec)
    with store.transaction() as conn:
        store.set_area_of_interest(conn, bounds)
    return area_of_interest(store, settings)


def init_workspace(path: Path, settings: Settings, *, name: str | None = None,
                   aoi: str | None = None) -> WorkspaceStore:
    """Create a new workspace at ``path`` (a folder); fails if one is already there.

    ``aoi``: its area of interest (as :func:`parse_area`), checked before anything is made.
    """
    bounds = None if aoi is None else parse_area(aoi)
    store = WorkspaceStore.create(Path(path), database_url=settings.database_url, name=name)
    if bounds is not None:
        try:
            with store.transaction() as conn:
                store.set_area_of_interest(conn, bounds)
        except BaseException:
            store.close()
            raise
    return store


def open_workspace(path: Path, settings: Settings) -> WorkspaceStore:
    """Open the workspace at ``path``, upgrading its schema if needed."""
    return WorkspaceStore.open(Path(path), database_url=settings.database_url)
