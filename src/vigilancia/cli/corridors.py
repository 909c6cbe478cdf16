"""``vigilancia routes``: trafficking corridors from production zones and runways to exits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from vigilancia.cli.common import out, parse_date, progress_bar, run_reported, settings_from_env
from vigilancia.cli.layers import KIND_LABELS
from vigilancia.domain.context import ContextKind
from vigilancia.i18n import N_, _, number

#: How many routes and communities the summary lists.
SHOWN = 15


def routes_command(
    workspace: Annotated[Path, typer.Argument(help=N_("Workspace folder."))],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help=N_("Only clearings first seen before this date (YYYY-MM-DD) and runways "
            "opened by its year."),
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o",
            help=N_("Folder for corredores.gpkg and densidad_corredores.tif."),
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help=N_("Replace existing output files."))] = False,
) -> None:
    """Least-cost trafficking routes from coca zones and runways to exits (corridors).

    Builds a network of rivers, roads, trails and air links between airstrips,
    routes every production zone and runway to its cheapest exit (exit points
    and border crossings), stores the corridors and measures how close each
    community is to them. Speeds and distances: VIGILANCIA_ROUTE_* settings.

    Example: vigilancia routes ws --as-of 2024-01-01 --output corredores
    """
    from vigilancia.services.corridors import build_corridors, export_corridors
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        date = parse_date(as_of, "--as-of")
        with open_workspace(workspace, settings) as store, progress_bar(True) as tick:
            result = build_corridors(store, settings, as_of=date, progress=tick)
        written = (
            export_corridors(result, output, settings=settings, overwrite=overwrite)
            if output is not None
            else None
        )
        return result, written

    result, written = run_reported(go)
    _print_summary(result)
    if written is not None:
        out.print(_("Written: {path}", path=str(written.gpkg)), highlight=False, soft_wrap=True)
        out.print(_("Written: {path}", path=str(written.density)), highlight=False, soft_wrap=True)


def _layer_name(kind: str) -> str:
    if kind == "coca":
        return _("coca clearings")
    return KIND_LABELS[ContextKind(kind)]()


def _print_summary(result: Any) -> None:
    from vigilancia.services.corridors import mode_label

    summary = result.summary
    out.print(
        _(
            "Origins: {n} ({zones} production zones, {runways} runways)",
            n=summary["origins"],
            zones=summary["zones"],
            runways=summary["runways"],
        ),
        highlight=False,
    )
    out.print(
        _(
            "Exits: {n} ({crossings} border crossings)",
            n=summary["exits"],
            crossings=summary["border_crossings"],
        ),
        highlight=False,
    )
    out.print(_("Routes found: {n}", n=summary["routes"]), highlight=False)
    if result.unreachable:
        shown = ", ".join(result.unreachable[:10]) + (
            ", ..." if len(result.unreachable) > 10 else ""
        )
        out.print(
            _("Unreachable origins: {n} ({labels})", n=len(result.unreachable), labels=shown),
            highlight=False,
            soft_wrap=True,
        )
    else:
        out.print(_("Unreachable origins: {n}", n=0), highlight=False)
    if result.missing_layers:
        out.print(
            _(
                "Missing layers: {layers}",
                layers=", ".join(_layer_name(k) for k in result.missing_layers),
            ),
            highlight=False,
            soft_wrap=True,
        )
    if result.no_exits:
        out.print(
            _(
                "No exits: import exit points (layers import --kind exit) or international "
                "borders (--kind border) so that routes have somewhere to go"
            ),
            highlight=False,
            soft_wrap=True,
        )
    if not summary["origins"]:
        out.print(
            _(
                "No origins: no clearing is likely coca and there are no known airstrips "
                "(monitor the alerts, or import airstrips with layers import --kind airstrip)"
            ),
            highlight=False,
            soft_wrap=True,
        )
    if result.routes:
        table = Table(title=_("Corridors"))
        for col in (_("Origin"), _("Exit"), _("Modes"), _("Length (km)"), _("Hours")):
            table.add_column(col)
        for r in sorted(result.routes, key=lambda r: r.cost_h)[:SHOWN]:
            table.add_row(
                r.origin,
                r.exit_name,
                " > ".join(mode_label(m) for m in r.modes),
                number(r.length_km),
                number(r.cost_h, 1),
            )
        out.print(table)
    exposure = result.exposure
    if exposure.available and result.territories:
        names = {t.id: t.name for t in result.territories}
        crossed = [tid for tid, e in exposure.items() if e.crossing]
        out.print(
            _(
                "Communities crossed by a corridor: {n} of {total}",
                n=len(crossed),
                total=len(result.territories),
            ),
            highlight=False,
        )
        table = Table(title=_("Communities nearest to the corridors"))
        table.add_column(_("Community"))
        table.add_column(_("Distance (km)"), justify="right")
        table.add_column(_("Corridors crossing"), justify="right")
        nearest = sorted(exposure.items(), key=lambda kv: kv[1].distance_km)[:SHOWN]
        for tid, e in nearest:
            table.add_row(str(names.get(tid, tid)), number(e.distance_km, 1),
                          number(len(e.crossing)))
        out.print(table)
