"""``vigilancia clearings``: the clearings found in the alerts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vigilancia.cli.base import App
from vigilancia.cli.common import out, parse_date, run_reported, settings_from_env
from vigilancia.errors import InputError
from vigilancia.i18n import N_, _, ngettext

clearings_app = App(help=N_("Clearings found in the alerts."), no_args_is_help=True)


@clearings_app.command("export")
def clearings_export(
    workspace: Annotated[Path, typer.Argument(help=N_("Workspace folder."))],
    output: Annotated[Path, typer.Option("--output", "-o", help=N_("File to write."))],
    fmt: Annotated[
        str, typer.Option("--format", help=N_("File format: gpkg, geojson, csv or fgb."))
    ] = "gpkg",
    territory: Annotated[
        str | None,
        typer.Option("--territory", "-t", help=N_(
            "Only the clearings in or near this territory (name or id).")),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help=N_("Only clearings with alerts on or after YYYY-MM-DD."))
    ] = None,
    until: Annotated[
        str | None, typer.Option(help=N_("Only clearings with alerts on or before YYYY-MM-DD."))
    ] = None,
    driver: Annotated[
        str | None,
        typer.Option("--driver", help=N_(
            "Only clearings of this likely driver: coca, airstrip, mining, road, agriculture, "
            "other (or the Spanish codes).")),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help=N_("Replace an existing file."))] = False,
) -> None:
    """Export clearings with their features, placement and every driver's probability
    (opens in QGIS).

    Column names and codes are in the user's language (VIGILANCIA_LANGUAGE): the README
    lists both names of every column.

    Example: vigilancia clearings export ws -t "CN Puerto Azul" --since 2024-01-01 -o claros.gpkg
    """
    from vigilancia.domain.driver_training import parse_driver, valid_driver_names
    from vigilancia.services.export import export_clearings
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        if fmt not in ("gpkg", "geojson", "csv", "fgb"):
            raise InputError(_("unknown format {fmt}", fmt=fmt), hint="gpkg|geojson|csv|fgb")
        wanted = None
        if driver is not None:
            wanted = parse_driver(driver)
            if wanted is None:
                raise InputError(_("unknown driver {value!r}", value=driver),
                                 hint=_("use one of: {names}", names=valid_driver_names()),
                                 inputs=("driver",))
        start, end = parse_date(since, "--since"), parse_date(until, "--until")
        with open_workspace(workspace, settings) as store:
            return export_clearings(store, output, fmt,  # type: ignore[arg-type]
                                    territory=territory, since=start, until=end, driver=wanted,
                                    overwrite=overwrite)

    res = run_reported(go)
    out.print(ngettext("{n} clearing written to {path}",
                       "{n} clearings written to {path}",
                       res.count, path=res.path))
