"""``vigilancia risk``: rank communities by risk, explain why, and back-test the score."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from vigilancia.cli.base import App, HelpGroup
from vigilancia.cli.common import (
    out,
    parse_date,
    print_json,
    progress_bar,
    run_reported,
    settings_from_env,
)
from vigilancia.i18n import N_, _, ngettext, number, percent


class _AssessByDefault(HelpGroup):
    """``vigilancia risk WS ...`` runs ``vigilancia risk assess WS ...``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # a click Context
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["assess", *args]
        return super().parse_args(ctx, args)


risk_app = App(
    cls=_AssessByDefault,
    help=N_("Risk of each community: a ranked, explained score, and its back-test.")
    + "\n\nExample: vigilancia risk ws --incidents incidentes.csv",
    no_args_is_help=True,
)


@risk_app.command("assess")
def risk_assess(
    workspace: Annotated[Path, typer.Argument(help=N_("Workspace folder."))],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help=N_("Score with the data known before this date (YYYY-MM-DD); "
                     "default: the day after the newest alert.")),
    ] = None,
    incidents: Annotated[
        Path | None,
        typer.Option("--incidents", help=N_("CSV of incidents against defenders counted by region "
                     "and year (aggregated counts, no names).")),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help=N_("Folder for riesgo.csv/.json/.gpkg/.png "
                     "(default: WORKSPACE/riesgo/DATE).")),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=N_("Print the ranking as JSON."))] = False,
    top: Annotated[int, typer.Option("--top", help=N_("Rows shown in the table."))] = 20,
) -> None:
    """Score every community territory (and district without communities) and explain each score.

    The score adds up readable factors: clearing pressure, recent clearings and
    their trend, coca-likely clearings, airstrips, trafficking corridors,
    tenure, violence and reserves for peoples in isolation. Weights come from
    VIGILANCIA_RISK_WEIGHTS. Missing layers are reported, never scored as zero risk.
    `vigilancia risk WS` is short for `vigilancia risk assess WS`.

    Example: vigilancia risk assess ws --as-of 2024-07-01 --incidents incidentes.csv
    """
    from vigilancia.reports.risk_map import render_risk_map
    from vigilancia.services.risk import assess_risk
    from vigilancia.services.risk_export import export_risk
    from vigilancia.services.texts.risk import class_name, explain, factor_name
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        when = parse_date(as_of, "--as-of")
        with open_workspace(workspace, settings) as store, progress_bar(not as_json) as tick:
            result = assess_risk(store, settings, as_of=when, incidents=incidents, progress=tick)
            folder = output or (workspace / "riesgo" / result.as_of.isoformat())
            files = export_risk(result, store, folder, render_map=render_risk_map)
        return result, files

    result, files = run_reported(go)
    if as_json:
        print_json(result.to_dict() | {"files": files})
        return
    table = Table(title=_("Community risk as of {date}", date=result.as_of.isoformat()))
    for col in ("#", _("Name"), _("Class"), _("Score"), _("Coverage"), _("Why")):
        table.add_column(col)
    for s in result.scores[:top]:
        table.add_row(str(s.rank), s.name, class_name(s.risk_class), number(s.score),
                      percent(s.coverage), explain(s).split(": ", 2)[-1])
    out.print(table)
    counts = result.class_counts()
    out.print(ngettext("{n} unit: {critical} critical, {high} high, {medium} medium, {low} low",
                       "{n} units: {critical} critical, {high} high, {medium} medium, {low} low",
                       len(result.scores), critical=counts.get("critical", 0),
                       high=counts.get("high", 0), medium=counts.get("medium", 0),
                       low=counts.get("low", 0)))
    for factor, reason in result.missing.items():
        out.print(_("Missing: {factor}: {reason}", factor=factor_name(factor), reason=reason))
    for path in vars(files).values():
        out.print(_("Written: {path}", path=str(path)))


@risk_app.command("backtest")
def risk_backtest(
    workspace: Annotated[Path, typer.Argument(help=N_("Workspace folder."))],
    cutoff: Annotated[str, typer.Option("--cutoff", help=N_("Score with data before this date."))],
    horizon: Annotated[
        str, typer.Option("--horizon", help=N_("Period after the cutoff that is checked: 12m, 2y."))
    ] = "12m",
    unit: Annotated[
        str, typer.Option("--unit", help=N_("Units: grid (cells), district or territory."))
    ] = "grid",
    cell_km: Annotated[float, typer.Option("--cell-km", help=N_("Grid cell size (km)."))] = 2.0,
    as_json: Annotated[bool, typer.Option("--json", help=N_("Print the result as JSON."))] = False,
) -> None:
    """Score with only what was known at the cutoff; measure how much of the next alerts it caught.

    Reports the share of the next period's alert area in the top 1 %, 5 % and
    10 % of units and the ROC AUC, next to the persistence baseline (each
    unit's own past alert area), computed in the same run.

    Example: vigilancia risk backtest ws --cutoff 2023-01-01 --horizon 12m --unit grid --cell-km 2
    """
    from vigilancia.services.risk import backtest, parse_horizon
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        when = parse_date(cutoff, "--cutoff")
        assert when is not None
        months = parse_horizon(horizon)
        with open_workspace(workspace, settings) as store, progress_bar(not as_json) as tick:
            return backtest(store, settings, cutoff=when, horizon_months=months, unit=unit,
                            cell_km=cell_km, progress=tick)

    res = run_reported(go)
    if as_json:
        print_json(res)
        return
    data = res.to_dict()
    table = Table(title=_("Back-test: {unit}, cutoff {cutoff}, {months} months",
                          unit=unit, cutoff=data["cutoff"], months=res.horizon_months))
    for col in (_("Metric"), _("Risk score"), _("Persistence"), _("Difference (points)")):
        table.add_column(col)
    for key in ("top1_capture", "top5_capture", "top10_capture", "auc"):
        score, base = data.get(key), data["baseline"].get(key)
        table.add_row(key, _pct(score, key), _pct(base, key),
                      "" if data["lift_points"].get(key) is None
                      else _signed(data["lift_points"][key]))
    out.print(table)
    out.print(ngettext("{n} unit; alert area: {past} ha before the cutoff, {future} ha after",
                       "{n} units; alert area: {past} ha before the cutoff, {future} ha after",
                       res.n_units, past=number(res.past_area_ha),
                       future=number(res.future_area_ha)))
    for factor, reason in res.missing.items():
        out.print(_("Missing: {factor}: {reason}", factor=factor, reason=reason))


def _pct(value: Any, key: str) -> str:
    if value is None:
        return "-"
    return number(value, 3) if key == "auc" else percent(value, 1)


def _signed(value: float) -> str:
    return ("+" if value > 0 else "") + number(value, 1)
