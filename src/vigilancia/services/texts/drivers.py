"""Driver predictions in words: reasons and verdicts in the user's language.

Models give language-neutral :class:`~vigilancia.domain.drivers.Reason` objects
(a code and its numbers); this module renders them through
:func:`vigilancia.i18n._`, in Spanish by default and in English when chosen.
Numbers are written by :func:`vigilancia.i18n.number` (``1.200 m`` and ``1,5 ha`` in
Spanish).

>>> from vigilancia.domain.drivers import Driver, Reason
>>> from vigilancia.i18n import set_language
>>> set_language("en")
>>> prediction_text(Driver.AIRSTRIP, 0.87, [
...     Reason("straight_strip", {"length_m": 820, "width_m": 30}),
...     Reason("near_river", {"distance_m": 600})])
'straight strip 820 m × 30 m, 600 m from a river: likely airstrip (87%)'
>>> set_language("es")
>>> prediction_text(Driver.AIRSTRIP, 0.87, [
...     Reason("straight_strip", {"length_m": 820, "width_m": 30}),
...     Reason("near_river", {"distance_m": 600})])
'franja recta de 820 m × 30 m, a 600 m de un río: probable pista de aterrizaje (87 %)'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

from vigilancia.domain.drivers import Driver, Reason
from vigilancia.i18n import _, ngettext, number

__all__ = ["driver_name", "layer_name", "prediction_text", "reason_text", "reasons_text"]

#: Probability from which a driver is "likely", and from which it is "possible".
LIKELY = 0.7
POSSIBLE = 0.45


def count_of(value: object) -> int:
    """``value`` as a whole count, the number that picks the singular or plural form of a
    message (:func:`vigilancia.i18n.ngettext`); 0 when it is not a finite number."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0
    return round(x) if math.isfinite(x) else 0


def _metres(value: object) -> str:
    return number(value)


def _hectares(value: object) -> str:
    try:
        big = abs(float(value)) >= 10  # type: ignore[arg-type]
    except (TypeError, ValueError):
        big = False
    return number(value, 0 if big else 1)


def _percent(share: object) -> str:
    try:
        return number(100 * float(share))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "?"


def driver_name(driver: Driver | str) -> str:
    """The name of a driver in the current language."""
    names: dict[str, Callable[[], str]] = {
        Driver.COCA: lambda: _("coca plot"),
        Driver.AIRSTRIP: lambda: _("airstrip"),
        Driver.MINING: lambda: _("mining"),
        Driver.ROAD: lambda: _("road or logging track"),
        Driver.AGRICULTURE: lambda: _("agriculture"),
        Driver.OTHER: lambda: _("other cause"),
    }
    make = names.get(str(driver))
    return make() if make else str(driver)


def _feature_name(name: str) -> str:
    labels: dict[str, Callable[[], str]] = {
        "area_ha": lambda: _("area"),
        "perimeter_m": lambda: _("perimeter"),
        "length_m": lambda: _("length"),
        "width_m": lambda: _("width"),
        "elongation": lambda: _("elongation"),
        "compactness": lambda: _("compactness"),
        "rectangularity": lambda: _("rectangularity"),
        "orientation_deg": lambda: _("orientation"),
        "dist_river_m": lambda: _("distance to a river"),
        "dist_road_m": lambda: _("distance to a road"),
        "dist_trail_m": lambda: _("distance to a trail"),
        "dist_settlement_m": lambda: _("distance to a settlement"),
        "dist_airstrip_m": lambda: _("distance to a known airstrip"),
        "dist_border_m": lambda: _("distance to the border"),
        "dist_protected_area_m": lambda: _("distance to a protected area"),
        "clearings_1km": lambda: _("clearings within 1 km"),
        "clearings_2km": lambda: _("clearings within 2 km"),
        "clearings_5km": lambda: _("clearings within 5 km"),
        "cleared_ha_1km": lambda: _("hectares cleared within 1 km"),
        "inside_territory": lambda: _("inside a territory"),
        "boundary_distance_m": lambda: _("distance to a territory boundary"),
        "span_days": lambda: _("days between first and last alert"),
        "recleared": lambda: _("cleared before at the same place"),
        "branches": lambda: _("thin strips branching off"),
    }
    make = labels.get(name)
    return make() if make else name


def _feature_value(name: str, value: object) -> str:
    if name.endswith("_m"):
        return f"{_metres(value)} m"
    if name.endswith("_ha"):
        return f"{_hectares(value)} ha"
    if name.endswith("_deg"):
        return f"{number(value)}°"
    if name in ("inside_territory", "recleared"):
        try:
            return _("yes") if float(value) >= 0.5 else _("no")  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return "?"
    return number(value, 2)


def reason_text(reason: Reason) -> str:
    """One reason in the current language, e.g. "a 600 m de un río" / "600 m from a river".

    Codes of the rules model (:mod:`vigilancia.domain.rules`) and the trained
    model's ``feature`` reasons have their own wording; any other code is shown
    as the code with its numbers.
    """
    p: Mapping[str, float | str] = reason.params

    def m(key: str) -> str:
        return _metres(p.get(key))

    def ha(key: str) -> str:
        return _hectares(p.get(key))

    words: dict[str, Callable[[], str]] = {
        "straight_strip": lambda: _("straight strip {length} m × {width} m",
                                    length=m("length_m"), width=m("width_m")),
        "near_river": lambda: _("{distance} m from a river", distance=m("distance_m")),
        "near_road": lambda: _("{distance} m from a road", distance=m("distance_m")),
        "near_trail": lambda: _("{distance} m from a trail", distance=m("distance_m")),
        "near_settlement": lambda: _("{distance} m from a settlement",
                                     distance=m("distance_m")),
        "known_airstrip": lambda: _("on a known airstrip ({distance} m away)",
                                    distance=m("distance_m")),
        "near_airstrip": lambda: _("{distance} m from a known airstrip",
                                   distance=m("distance_m")),
        "recleared": lambda: _("cleared again where there was a clearing before"),
        "small_patch": lambda: _("small patch of {area} ha", area=ha("area_ha")),
        "irregular_shape": lambda: _("irregular shape"),
        "clustered": lambda: _("{count} other clearings within 1 km",
                               count=number(p.get("count"))),
        "far_from_road": lambda: _("far from roads ({distance} m)", distance=m("distance_m")),
        "far_from_settlement": lambda: _("far from settlements ({distance} m)",
                                         distance=m("distance_m")),
        "large_clearing": lambda: _("large clearing of {area} ha", area=ha("area_ha")),
        "cleared_nearby": lambda: _("{area} ha cleared within 1 km", area=ha("area_ha")),
        "winding_track": lambda: _("long winding strip of {length} m", length=m("length_m")),
        "long_strip": lambda: _("strip of {length} m, longer than any runway",
                                length=m("length_m")),
        "branching_track": lambda: ngettext("thin strip with {count} branch or bend",
                                            "thin strip with {count} branches or bends",
                                            count_of(p.get("count")),
                                            count=number(p.get("count"))),
        "compact_block": lambda: _("compact block of {area} ha", area=ha("area_ha")),
        "tiny_patch": lambda: _("very small clearing ({area} ha)", area=ha("area_ha")),
        "no_clear_pattern": lambda: _("no clear pattern"),
        "little_context": lambda: _("little context known ({percent}% of the layers)",
                                    percent=_percent(p.get("share_known"))),
        "not_covered": lambda: _not_covered(str(p.get("layers", ""))),
        "runway_candidate": lambda: ngettext(
            "part of a strip of {count} aligned clearing, {length} m long",
            "part of a strip of {count} aligned clearings, {length} m long",
            count_of(p.get("count")), count=number(p.get("count")),
            length=m("length_m")),
        "feature": lambda: _("{feature}: {value} (typical: {typical})",
                             feature=_feature_name(str(p.get("name", "?"))),
                             value=_feature_value(str(p.get("name", "")), p.get("value")),
                             typical=_feature_value(str(p.get("name", "")),
                                                    p.get("typical"))),
    }
    make = words.get(reason.code)
    if make is not None:
        return make()
    if not p:
        return reason.code
    inner = ", ".join(f"{k} {number(v, 2) if not isinstance(v, str) else v}"
                      for k, v in p.items())
    return f"{reason.code} ({inner})"


def layer_name(kind: str) -> str:
    """The name of a kind of context layer as a layer ("roads", "rivers"...), in the
    current language."""
    names: dict[str, Callable[[], str]] = {
        "river": lambda: _("rivers"),
        "road": lambda: _("roads"),
        "trail": lambda: _("trails"),
        "settlement": lambda: _("settlements"),
        "airstrip": lambda: _("known airstrips"),
        "border": lambda: _("borders"),
        "exit": lambda: _("exits"),
        "camp": lambda: _("camps"),
    }
    make = names.get(kind)
    return make() if make else kind


def _not_covered(layers: str) -> str:
    """"the road layer does not cover this place" / "... the road and river layers ..."."""
    names = [layer_name(k) for k in layers.split(",") if k]
    if not names:
        return _("a context layer does not cover this place")
    listed = names[0] if len(names) == 1 else _(
        "{first} and {last}", first=", ".join(names[:-1]), last=names[-1])
    return ngettext("the {layers} layer does not cover this place",
                    "the {layers} layers do not cover this place", len(names), layers=listed)


def reasons_text(reasons: Iterable[Reason]) -> str:
    """The reasons, joined with commas."""
    return ", ".join(reason_text(r) for r in reasons)


def prediction_text(driver: Driver | str, probability: float,
                    reasons: Iterable[Reason] = ()) -> str:
    """A prediction in one line: "<reasons>: <likely|possible|uncertain> <driver> (<p> %)".

    "likely" from a probability of 0.7 (:data:`LIKELY`), "possible" from 0.45
    (:data:`POSSIBLE`), "uncertain" below.
    """
    name = driver_name(driver)
    if probability >= LIKELY:
        verdict = _("likely {driver}", driver=name)
    elif probability >= POSSIBLE:
        verdict = _("possibly {driver}", driver=name)
    else:
        verdict = _("uncertain, perhaps {driver}", driver=name)
    percent = _percent(probability)
    text = reasons_text(reasons)
    if not text:
        return _("{verdict} ({percent}%)", verdict=verdict, percent=percent)
    return _("{reasons}: {verdict} ({percent}%)", reasons=text, verdict=verdict,
             percent=percent)
