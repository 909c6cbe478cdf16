"""``vigilancia airstrips``: runway candidates assembled from the clearings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from vigilancia.cli.base import App
from vigilancia.cli.common import out, run_reported, settings_from_env
from vigilancia.i18n import N_, _, ngettext, number, percent

airstrips_app = App(
    help=N_("Runway candidates: straight strips of clearings, matched to known airstrips.")
    + "\n\nExample: vigilancia airstrips find ws --output pistas_candidatas.gpkg",
    no_args_is_help=True,
)


@airstrips_app.command("find")
def airstrips_find(
    workspace: Annotated[Path, typer.Argument(help=N_("Workspace folder."))],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help=N_("Write the candidates to this file."))
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help=N_("File format: gpkg, geojson, csv or fgb."))
    ] = "gpkg",
    batch: Annotated[
        list[int] | None, typer.Option("--batch", help=N_("Only clearings of this batch id."))
    ] = None,
    overwrite: Annotated[bool, typer.Option(help=N_("Replace an existing output file."))] = False,
) -> None:
    """Join clearings that line up along one axis into runway candidates and score them.

    The clearings of each candidate take its prediction: those of a likely runway
    become airstrips in cases, care flags and exports (the monitoring cycle and
    `classifier apply` do the same).

    Example: vigilancia airstrips find ws --output pistas_candidatas.gpkg
    """
    from vigilancia.services.airstrips import find_runways
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        with open_workspace(workspace, settings) as store:
            return find_runways(store, batch, output=output, fmt=fmt,  # type: ignore[arg-type]
                                overwrite=overwrite)

    res = run_reported(go)
    table = Table(title=_("Runway candidates"))
    for col in (_("Length (m)"), _("Width (m)"), _("Probability"), _("Known airstrip"),
                _("Last alert"), _("Why")):
        table.add_column(col)
    for row in res.frame.head(30).itertuples():
        known = row.known_airstrip if isinstance(row.known_airstrip, str) else "-"
        table.add_row(number(row.length_m), number(row.width_m),
                      percent(row.airstrip_probability), known, str(row.last_date or ""),
                      str(row.text))
    out.print(table)
    out.print(_("{n} candidates, {likely} likely runways, {known} on known airstrips",
                n=number(len(res.frame)), likely=number(res.likely),
                known=number(res.on_known)))
    if res.airstrip_clearings:
        out.print(ngettext("{n} clearing of the likely runways is an airstrip",
                           "{n} clearings of the likely runways are airstrips",
                           res.airstrip_clearings, n=number(res.airstrip_clearings)))
    if res.path is not None:
        out.print(_("Written: {path}", path=str(res.path)))
