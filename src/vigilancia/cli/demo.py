"""``vigilancia demo``: the whole cycle on the seeded sample region."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vigilancia.cli.common import out, progress_bar, run_reported, settings_from_env
from vigilancia.cli.layers import KIND_LABELS
from vigilancia.cli.monitor import print_monitor
from vigilancia.i18n import N_, _, ngettext, number


def demo_command(
    output: Annotated[Path, typer.Option("--output", "-o", help=N_("Folder for the demo."))] = Path(
        "demo-output"
    ),
) -> None:
    """Run the whole cycle on a seeded sample region (no network, no data needed).

    The folder must be new or empty, or one an earlier demo made: the demo marks its
    folder and, when run again, removes only the files it wrote there. A folder with
    anything else in it, the current folder and the home folder are refused.

    Example: vigilancia demo --output demo-output
    """
    from vigilancia.reports.case_report import render_case_report
    from vigilancia.reports.package_map import render_package_map
    from vigilancia.reports.risk_map import render_risk_map
    from vigilancia.services.demo import run_demo

    settings = settings_from_env()

    def go() -> Any:
        with progress_bar(True) as tick:
            return run_demo(output, settings, tick, render_risk_map=render_risk_map,
                            render_package_map=render_package_map,
                            render_case_report=render_case_report)

    res = run_reported(go)
    out.print(f"[bold]{_('Sample region')}[/]: {res.region.description}", highlight=False)
    for imp in res.imports:
        out.print(
            ngettext("{n} territory imported from {source}",
                     "{n} territories imported from {source}",
                     imp.imported, source=imp.source)
            + (" " + ngettext("({n} repaired)", "({n} repaired)", len(imp.repairs))
               if imp.repairs else "")
        )
    for layer in res.layers:
        out.print(
            ngettext(
                "{n} feature of kind {kind} imported from {source}",
                "{n} features of kind {kind} imported from {source}",
                layer.imported,
                kind=KIND_LABELS[layer.kind](),
                source=layer.source,
            )
        )
    print_monitor(res.monitor)
    from vigilancia.services.package import human_size
    from vigilancia.services.texts.cases import opened_text
    from vigilancia.services.texts.risk import explain

    routes = len(res.corridors.routes)
    out.print(ngettext("Trafficking corridors: {n} route from the coca zones and runways to "
                       "the exits", "Trafficking corridors: {n} routes from the coca zones and "
                       "runways to the exits", routes, n=routes), highlight=False)
    out.print(f"[bold]{_('Community risk')}[/]:")
    for score in res.risk.scores[:3]:
        out.print(f"  {score.rank}. {explain(score)}", highlight=False)
    out.print(opened_text(len(res.cases.opened), res.cases.clearings, len(res.cases.grown)))
    out.print(ngettext("Patrol of {name}: {stops} case, {km} km, {hours} h",
                       "Patrol of {name}: {stops} cases, {km} km, {hours} h",
                       len(res.plan.stops),
                       name=res.plan.territory_name, stops=len(res.plan.stops),
                       km=number(res.plan.total_km, 1),
                       hours=number(res.plan.total_hours, 1)))
    out.print(ngettext("Offline package: {n} file, {size}",
                       "Offline package: {n} files, {size}",
                       len(res.package.files), size=human_size(res.package.total_bytes)))
    out.print(_("Case report for the environmental prosecutor: content hash {hash}, "
                "recorded in the custody log as entry {seq}",
                hash=res.report.content_hash[:16], seq=res.report.custody_seq),
              highlight=False)
    out.print(f"[bold]{_('Outputs')}[/]:")
    out.print(f"  {_('workspace')}: {res.workspace}")
    for p in res.exports:
        out.print(f"  {p}")
