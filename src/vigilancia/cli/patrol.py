"""``vigilancia patrol``: patrol plans of one community's open cases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from vigilancia.cli.base import App
from vigilancia.cli.common import actor_name, out, print_json, run_reported, settings_from_env
from vigilancia.domain.patrols import DEFAULT_MAX_KM, CareReason, PatrolPlan
from vigilancia.i18n import N_, _, ngettext, number

patrol_app = App(
    help=N_("Patrol plans: which open cases of a community to visit, in what order, how far.")
    + "\n\nExample: vigilancia patrol plan ws --territory \"CN Puerto Azul\" --max-km 20",
    no_args_is_help=True,
)


def _mode_label(mode: str) -> str:
    labels = {
        "trail": lambda: _("trail"),
        "river": lambda: _("river"),
        "road": lambda: _("road"),
        "walk": lambda: _("on foot"),
    }
    return labels[mode]() if mode in labels else mode


def _care_label(reason: CareReason) -> str:
    kinds = {
        "airstrip": lambda: _("known airstrip"),
        "camp": lambda: _("camp"),
        "runway_clearing": lambda: _("runway-like clearing"),
    }
    what = kinds[reason.kind]() if reason.kind in kinds else reason.kind
    if reason.name:
        what = f"{what} «{reason.name}»"
    return _("{what} at {km} km", what=what, km=_number(reason.distance_m / 1000.0))


def _number(value: float, digits: int = 1) -> str:
    return number(value, digits)



@patrol_app.command("plan")
def patrol_plan(
    workspace: Annotated[Path, typer.Argument(help=N_("Workspace folder."))],
    territory: Annotated[
        str, typer.Option("--territory", "-t", help=N_(
            "The community territory, reserve, or district without communities (name or id)."))
    ],
    max_km: Annotated[
        float,
        typer.Option("--max-km", help=N_("Longest round trip (km), back to the start included.")),
    ] = DEFAULT_MAX_KM,
    start: Annotated[
        str | None,
        typer.Option(
            help=N_("Where the patrol leaves from: lon,lat (e.g. --start=-74.95,-9.47) or the "
            "name of a settlement of the settlement layer. Default: the settlement in or "
            "nearest the territory, else its centre."),
        ),
    ] = None,
    assign: Annotated[
        str | None,
        typer.Option(help=N_("Assign the planned cases to this monitor or team.")),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option("--by", help=N_("Who makes the plan, for the cases' history "
                     "(default: your user name).")),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=N_("Print the plan as JSON."))] = False,
) -> None:
    """Plan a patrol of one community's open cases within a distance, and store it.

    Cases are taken by priority and visited in a short round from the start:
    each is kept only if the whole round trip stays within --max-km (default
    25 km). Legs follow rivers, roads and trails (context layers) where that is
    faster than walking straight through the forest (speeds:
    VIGILANCIA_ROUTE_*_KMH). Cases within VIGILANCIA_PATROL_CARE_KM of a known
    airstrip, a camp or a runway-like clearing are marked to approach with care.
    A plan holds only this community's cases.

    Example: vigilancia patrol plan ws --territory "CN Puerto Azul" --max-km 20 --assign Yamino
    """
    from vigilancia.services.patrol import parse_start, plan_patrol
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        where = parse_start(start)
        with open_workspace(workspace, settings) as store:
            return plan_patrol(store, settings, territory=territory, max_km=max_km,
                               start=where, assign=assign, actor=actor_name(by))

    plan: PatrolPlan = run_reported(go)
    if as_json:
        print_json(plan)
        return
    _print_plan(plan, assigned=assign is not None)


def _print_plan(plan: PatrolPlan, *, assigned: bool) -> None:
    lon, lat = plan.start
    if plan.start_kind == "centroid":
        where = _("the centre of the territory ({lon}, {lat}): no settlement of the settlement "
                  "layer lies in or near it", lon=f"{lon:.5f}", lat=f"{lat:.5f}")
    elif plan.start_name:
        where = f"{plan.start_name} ({lon:.5f}, {lat:.5f})"
    else:
        where = f"{lon:.5f}, {lat:.5f}"
    out.print(_("Patrol of {name} (plan {id}), leaving from {where}",
                name=plan.territory_name, id=plan.id, where=where),
              highlight=False, soft_wrap=True)
    table = Table(title=_("Visits in order"))
    for col in (_("Order"), _("Case"), _("Priority"), _("Leg km"), _("Leg h"), _("Modes"),
                _("Care")):
        table.add_column(col)
    for s in plan.stops:
        table.add_row(
            str(s.order), s.code, number(s.priority), _number(s.leg_km), _number(s.leg_hours),
            " > ".join(_mode_label(m) for m in s.leg_modes),
            "; ".join(_care_label(c) for c in s.care) or "-",
        )
    if plan.returns:
        table.add_row(_("back"), "", "", _number(plan.return_km), _number(plan.return_hours),
                      " > ".join(_mode_label(m) for m in plan.return_modes), "")
    out.print(table)
    out.print(ngettext("Total: {km} km, {hours} h (limit {max} km); {n} case visited",
                       "Total: {km} km, {hours} h (limit {max} km); {n} cases visited",
                       len(plan.stops), km=_number(plan.total_km),
                       hours=_number(plan.total_hours), max=_number(plan.max_km)),
              highlight=False)
    careful = sum(1 for s in plan.stops if s.care)
    if careful:
        out.print(ngettext(
            "Approach with care: {n} case near airstrips, camps or runway-like clearings",
            "Approach with care: {n} cases near airstrips, camps or runway-like clearings",
            careful), highlight=False)
    if plan.skipped:
        codes = [f"C-{c:04d}" for c in plan.skipped]
        shown = ", ".join(codes[:10]) + (", ..." if len(codes) > 10 else "")
        out.print(ngettext("{n} open case left out (it does not fit within {max} km): {codes}",
                           "{n} open cases left out (they do not fit within {max} km): {codes}",
                           len(codes), max=_number(plan.max_km), codes=shown),
                  highlight=False, soft_wrap=True)
    if assigned:
        out.print(ngettext("{n} case assigned", "{n} cases assigned", len(plan.stops)),
                  highlight=False)
