"""What the web app's map page needs besides the map's own data: the workspace's extent,
the span of its alert dates (the date slider), its clearings per likely driver (the
driver filter), and which layers it holds (risk, corridors, context layers), so that
the page offers only layers that exist (the context layers' features:
:func:`vigilancia.services.overview.context_map`).

The clearings themselves reach the map as vector tiles
(:func:`vigilancia.services.map.clearing_tile`), never all at once.

>>> view = map_overview(store)  # doctest: +SKIP
>>> view.first_date, view.last_date, view.drivers  # doctest: +SKIP
(datetime.date(2024, 1, 3), datetime.date(2025, 1, 28), {'coca': 31, 'agriculture': 12})
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from vigilancia.domain.context import ContextKind
from vigilancia.domain.drivers import DRIVERS
from vigilancia.i18n import _
from vigilancia.io.store import WorkspaceStore
from vigilancia.services.texts.drivers import driver_name

__all__ = ["MapOverview", "context_kind_name", "map_overview"]

_CONTEXT_NAMES = {
    ContextKind.RIVER: lambda: _("Rivers"),
    ContextKind.ROAD: lambda: _("Roads"),
    ContextKind.TRAIL: lambda: _("Trails"),
    ContextKind.SETTLEMENT: lambda: _("Settlements"),
    ContextKind.AIRSTRIP: lambda: _("Known airstrips"),
    ContextKind.BORDER: lambda: _("Borders"),
    ContextKind.EXIT: lambda: _("Exit points"),
    ContextKind.CAMP: lambda: _("Camps"),
}


def context_kind_name(kind: ContextKind | str) -> str:
    """A context layer's name in the current language."""
    return _CONTEXT_NAMES[ContextKind(kind)]()


@dataclass(frozen=True)
class MapOverview:
    """The map page's frame: the workspace's ``bounds`` (lon/lat: its territories and
    clearings), the span of alert dates, clearings per likely driver (every driver,
    zero included, and ``unclassified``), the date of the latest risk assessment, the
    number of corridors, and the context layers with their feature counts."""

    workspace: str
    bounds: tuple[float, float, float, float] | None
    first_date: date | None
    last_date: date | None
    drivers: dict[str, int]
    risk_as_of: date | None
    corridors: int
    context: dict[str, int]

    @property
    def clearings(self) -> int:
        """Stored clearings (classified or not)."""
        return sum(self.drivers.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with each driver's and layer's name in the current language."""
        return {
            "workspace": self.workspace, "bounds": self.bounds,
            "first_date": self.first_date, "last_date": self.last_date,
            "clearings": self.clearings,
            "drivers": [{"driver": k, "name": driver_name(k) if k != "unclassified"
                         else _("unclassified"), "clearings": n}
                        for k, n in self.drivers.items()],
            "risk_as_of": self.risk_as_of, "corridors": self.corridors,
            "context": [{"kind": k, "name": context_kind_name(k), "features": n}
                        for k, n in self.context.items()],
        }


def map_overview(store: WorkspaceStore) -> MapOverview:
    """The frame of the workspace's map (a handful of aggregate reads)."""
    boxes = [t.geometry.bounds for t in store.territories.list()]
    extent = store.clearings.extent()
    if extent is not None:
        boxes.append(extent)
    bounds = None
    if boxes:
        bounds = (min(b[0] for b in boxes), min(b[1] for b in boxes),
                  max(b[2] for b in boxes), max(b[3] for b in boxes))
    total, first, last = store.clearings.span()
    counts = store.clearings.by_driver().per_driver
    drivers = {d.value: int(counts.get(d.value, 0)) for d in DRIVERS}
    classified = sum(drivers.values())
    if total > classified:
        drivers["unclassified"] = total - classified
    assessments = [a for a in store.risk.assessments() if a.unit == "territory"]
    run = store.corridors.latest_run()
    corridors = 0 if run is None else len(store.corridors.list(run.id))
    return MapOverview(store.name, bounds, first, last, drivers,
                       assessments[0].as_of if assessments else None, corridors,
                       store.context.count_by_kind())
