"""What the web app's territory page shows: the territory's overview
(:func:`vigilancia.services.overview.territory_overview`: risk with its reasons, the
risk score's trend, cases, last patrols) and the trend of its clearings: hectares
cleared inside it per month, by likely driver, over the last :data:`MONTHS` months of
alerts.

>>> page = territory_page(store, 2)  # doctest: +SKIP
>>> page.months[-1].month, page.months[-1].area_by_driver  # doctest: +SKIP
(datetime.date(2024, 12, 1), {'coca': 1.9})
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from vigilancia.domain.access import FULL, Disclosure
from vigilancia.io.store import WorkspaceStore
from vigilancia.services.overview import TerritoryOverview, territory_overview

__all__ = ["MONTHS", "MonthArea", "TerritoryPage", "territory_page"]

#: Months of clearings the territory page shows (up to the workspace's last alert).
MONTHS = 24


@dataclass(frozen=True)
class MonthArea:
    """Hectares of the clearings first seen in one month inside a territory (the part
    inside it), by likely driver (``unclassified`` for those without one)."""

    month: date
    area_by_driver: dict[str, float]

    @property
    def area_ha(self) -> float:
        return sum(self.area_by_driver.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (month as YYYY-MM)."""
        return {"month": self.month.strftime("%Y-%m"), "area_ha": round(self.area_ha, 4),
                "area_by_driver": {k: round(v, 4) for k, v in self.area_by_driver.items()}}


@dataclass(frozen=True)
class TerritoryPage:
    """The territory page's content: the overview and the monthly clearings."""

    overview: TerritoryOverview
    months: tuple[MonthArea, ...]

    @property
    def most_ha(self) -> float:
        """The largest monthly total (ha), for the chart's scale."""
        return max((m.area_ha for m in self.months), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        """The overview's GeoJSON Feature with ``clearing_trend`` in its properties."""
        feature = self.overview.to_dict()
        feature["properties"]["clearing_trend"] = [m.to_dict() for m in self.months]
        return feature


def territory_page(store: WorkspaceStore, territory_id: int, *,
                   disclosure: Disclosure = FULL) -> TerritoryPage:
    """The territory page of ``territory_id``; :class:`~vigilancia.errors.NotFoundError`
    when there is none."""
    overview = territory_overview(store, territory_id, disclosure=disclosure)
    tid = overview.territory.id
    near = store.clearings.placed_on([tid])
    overlaps = store.clearings.overlaps(clearing_ids=near) if len(near) else None
    last = store.clearings.latest_alert_date()
    if overlaps is None or not len(overlaps) or last is None:
        return TerritoryPage(overview, ())
    inside = overlaps.territory_id == tid
    ids = overlaps.clearing_id[inside]
    area_inside = dict(zip(ids.tolist(), overlaps.area_ha[inside].tolist(), strict=True))
    cols = store.clearings.columns(clearing_ids=ids)
    end = np.datetime64(last, "M")
    start = end - np.timedelta64(MONTHS - 1, "M")
    months = cols.first_date.astype("datetime64[M]")
    table: dict[np.datetime64, dict[str, float]] = {
        start + np.timedelta64(i, "M"): {} for i in range(MONTHS)}
    for cid, month, driver in zip(cols.id.tolist(), months, cols.driver.tolist(), strict=True):
        if np.isnat(month) or month < start or month > end:
            continue
        by = table[month]
        key = driver or "unclassified"
        by[key] = by.get(key, 0.0) + float(area_inside.get(cid, 0.0))
    out = tuple(MonthArea(m.astype("datetime64[D]").item(), dict(sorted(by.items())))
                for m, by in sorted(table.items()))
    return TerritoryPage(overview, out)
