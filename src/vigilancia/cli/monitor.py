"""``vigilancia monitor``: the monitoring cycle, and its summary (shared with the demo)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from vigilancia.cli.common import (
    out,
    parse_date,
    print_json,
    progress_bar,
    run_reported,
    settings_from_env,
)
from vigilancia.domain.alerts import ALL_PRODUCTS, Confidence
from vigilancia.errors import InputError
from vigilancia.i18n import N_, _, ngettext, number
from vigilancia.services.texts.drivers import driver_name


def monitor_command(
    workspace: Annotated[Path, typer.Argument(help=N_("Workspace folder."))],
    alerts: Annotated[
        str,
        typer.Option(
            "--alerts",
            help=N_("Alert raster (.tif), folder of tiles, "
            "COG URL, or vector alerts (.parquet/.csv/.geojson)."),
        ),
    ],
    since: Annotated[str | None, typer.Option(help=N_("First alert date, YYYY-MM-DD."))] = None,
    until: Annotated[str | None, typer.Option(help=N_("Last alert date, YYYY-MM-DD."))] = None,
    product: Annotated[str, typer.Option(help=N_(
        "Alert product: auto (recognised from the file), gfw, radd-gee, glad-l-gee, "
        "glad-s2, hansen or mapbiomas."))] = "auto",
    min_confidence: Annotated[
        str, typer.Option(help=N_("Lowest alert confidence kept: low, high or highest."))
    ] = "low",
    as_json: Annotated[
        bool, typer.Option("--json", help=N_("Print a machine-readable summary."))
    ] = False,
    classify: Annotated[
        bool,
        typer.Option(
            "--classify/--no-classify",
            help=N_("Predict the likely driver (coca, airstrip, mining...) of the new clearings."),
        ),
    ] = True,
    series: Annotated[
        str | None,
        typer.Option(
            help=N_("Series the clearings join (default: the product); name one to keep "
                    "apart two alert systems served in one encoding, e.g. radd and glad-s2 "
                    "tiles from GFW.")
        ),
    ] = None,
) -> None:
    """Run the monitoring cycle: ingest alerts, group clearings, place them on territories,
    predict their likely driver.

    A new download of a product already ingested adds only what is new: grown clearings
    are updated in place, with their history. Only what crosses the area of interest is
    read (see vigilancia aoi show). Run again after an interruption to finish.

    Example: vigilancia monitor ws --alerts alertas.tif --since 2024-01-01 --min-confidence high
    """
    from vigilancia.services.monitor import MonitorRequest, run_monitor
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        if product != "auto" and product not in ALL_PRODUCTS:
            raise InputError(
                _("unknown product {p}", p=product), hint="auto|" + "|".join(ALL_PRODUCTS)
            )
        try:
            conf = Confidence.parse(min_confidence)
        except ValueError:
            raise InputError(_("--min-confidence must be low, high or highest")) from None
        req = MonitorRequest(
            alerts,
            product,
            parse_date(since, "--since"),
            parse_date(until, "--until"),
            conf,
            classify=classify,
            series=series,
        )
        with open_workspace(workspace, settings) as store, progress_bar(not as_json) as tick:
            return run_monitor(store, req, settings, tick)

    result = run_reported(go)
    if as_json:
        print_json(result)
        return
    print_monitor(result)


def print_monitor(result: Any) -> None:
    for b in result.batches:
        if b.skipped and "classification" in b.completed:
            out.print(_("Batch already ingested; the classification was missing: done ({source})",
                        source=b.source))
        elif b.skipped:
            out.print(_("Batch already ingested (nothing added): {source}", source=b.source))
        else:
            out.print(
                ngettext(
                    "Ingested {source} ({product}): {n} clearing, {area} ha",
                    "Ingested {source} ({product}): {n} clearings, {area} ha",
                    b.clearings,
                    source=b.source,
                    product=b.product,
                    area=number(b.area_ha, 1),
                )
            )
            if b.updated or b.merged or b.unchanged:
                out.print(_(
                    "  of the clearings already stored for this product: {new} new, {updated} "
                    "updated ({upgraded} with higher confidence), {merged} merged into another, "
                    "{unchanged} unchanged",
                    new=number(b.new), updated=number(b.updated), upgraded=number(b.upgraded),
                    merged=number(b.merged), unchanged=number(b.unchanged),
                ))
    table = Table(title=_("Clearings per territory"))
    for col in (
        _("Territory"),
        _("Kind"),
        _("Clearings"),
        _("Area (ha)"),
        _("First alert"),
        _("Last alert"),
    ):
        table.add_column(col)
    for t in result.territories:
        table.add_row(
            t.name,
            _(str(t.kind)),
            number(t.clearings),
            number(t.area_ha, 2),
            str(t.first_date or ""),
            str(t.last_date or ""),
        )
    out.print(table)
    out.print(ngettext("Total: {n} clearing, {area} ha",
                       "Total: {n} clearings, {area} ha",
                       result.clearings, area=number(result.area_ha, 1)))
    if result.drivers:
        drivers = Table(title=_("Likely driver ({model})", model=result.model_version))
        drivers.add_column(_("Driver"))
        drivers.add_column(_("Clearings"))
        for driver, n in result.drivers.items():
            drivers.add_row(driver_name(driver), number(n))
        out.print(drivers)
