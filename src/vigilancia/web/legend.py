"""The map's colours: the same as the reports' maps and charts, so that a coca clearing or
a critical community looks the same on paper and on screen."""

from __future__ import annotations

from typing import Any

from vigilancia.i18n import _
from vigilancia.reports.charts import DRIVER_COLOURS
from vigilancia.reports.risk_map import CLASS_COLOURS

__all__ = ["PALETTE", "map_texts", "palette"]

#: Colour of each context layer's features.
CONTEXT_COLOURS = {
    "river": "#4a90c2", "road": "#5a5a5a", "trail": "#8c6d46", "settlement": "#222222",
    "airstrip": "#000000", "border": "#7f0000", "exit": "#b15928", "camp": "#ff7f00",
}

PALETTE: dict[str, Any] = {
    "drivers": {("unclassified" if k is None else k): v for k, v in DRIVER_COLOURS.items()},
    "risk": {str(k): v for k, v in CLASS_COLOURS.items()},
    "territory_line": "#253494",
    "territory_fill": "#c7d3ea",
    "corridor": "#6a3d9a",
    "case": "#111111",
    "context": CONTEXT_COLOURS,
    "background": "#eef0e6",
}


def palette() -> dict[str, Any]:
    """The colours the pages' maps and legends use (JSON-ready)."""
    return PALETTE


def map_texts() -> dict[str, str]:
    """The words the map's scripts show, in the current language."""
    return {
        "clearing": _("Clearing"), "territory": _("Territory"), "corridor": _("Corridor"),
        "likely_driver": _("Likely driver"), "probability": _("probability"),
        "why": _("Why"), "dates": _("Alert dates"), "area": _("Area"), "ha": "ha",
        "case": _("Case"), "no_case": _("In no case yet"), "in_territory": _("In"),
        "nearest": _("Nearest territory"), "risk": _("Risk"), "score": _("score"),
        "open_territory": _("Open the territory's page"), "open_case": _("Open the case"),
        "people": _("People"), "tenure": _("Tenure"), "not_scored": _("Not scored yet"),
        "route": _("Route"), "modes": _("Modes"), "length": _("Length"), "hours": _("hours"),
        "km": "km", "unclassified": _("unclassified"), "loading": _("Loading…"),
        "failed": _("Could not load this; try again."), "place": _("Place"),
        "kind": _("Kind"), "runway": _("Runway candidate"),
        "nothing": _("Nothing here: click on a coloured shape."),
        "clearing_status": _("Case status"),
        "pixels": _("Alert pixels (low, high, highest confidence)"),
    }
