"""``vigilancia territories``: import and list community territories, reserves and areas."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from vigilancia.cli.base import App
from vigilancia.cli.common import out, progress_bar, run_reported, settings_from_env
from vigilancia.domain.codes import code_in
from vigilancia.domain.territories import TerritoryKind
from vigilancia.i18n import N_, _, get_language, ngettext, number

territories_app = App(
    help=N_("Community territories, reserves, protected areas and districts."), no_args_is_help=True
)


@territories_app.command("import")
def territories_import(
    workspace: Annotated[Path, typer.Argument(help=N_("Workspace folder."))],
    file: Annotated[
        str,
        typer.Argument(
            help=N_("GeoPackage, GeoJSON, Shapefile (.shp or .zip), "
            "Esri JSON, KML, or an ArcGIS MapServer/N URL.")
        ),
    ],
    kind: Annotated[
        TerritoryKind, typer.Option(help=N_("What the polygons are."))
    ] = TerritoryKind.COMMUNITY,
    name_field: Annotated[
        str | None, typer.Option(help=N_("Field with the name (guessed if absent)."))
    ] = None,
    layer: Annotated[str | None, typer.Option(help=N_("Layer of a multi-layer file."))] = None,
) -> None:
    """Import territory polygons; invalid geometry is repaired and reported.

    Example: vigilancia territories import ws comunidades.gpkg --kind community --name-field nomcom
    """
    from vigilancia.services.territories import import_territories
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        with open_workspace(workspace, settings) as store, progress_bar(True) as tick:
            return import_territories(store, file, kind=kind, name_field=name_field, layer=layer,
                                      progress=tick)

    res = run_reported(go)
    if res.skipped_existing:
        out.print(_("Already imported: {source} (nothing added)", source=res.source))
        return
    out.print(ngettext("{n} territory imported from {source}",
                       "{n} territories imported from {source}",
                       res.imported, source=res.source))
    if res.repairs:
        out.print(ngettext("{n} geometry repaired:", "{n} geometries repaired:", len(res.repairs)))
        for r in res.repairs[:20]:
            out.print(f"  - {r.feature}: {r.problem} → {r.action}", highlight=False)
        if len(res.repairs) > 20:
            out.print(_("  ... and {n} more", n=len(res.repairs) - 20))
    for d in res.dropped[:20]:
        out.print(f"  ! {d}", highlight=False)


@territories_app.command("list")
def territories_list(
    workspace: Annotated[Path, typer.Argument(help=N_("Workspace folder."))],
    kind: Annotated[
        TerritoryKind | None, typer.Option(help=N_("Only territories of this kind."))
    ] = None,
) -> None:
    """List the imported territories with their number (id), kind and tenure.

    Example: vigilancia territories list ws --kind community
    """
    from vigilancia.services.territories import list_territories
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        with open_workspace(workspace, settings) as store:
            return list_territories(store, None if kind is None else [kind])

    found = run_reported(go)
    table = Table(title=ngettext("{n} territory", "{n} territories", len(found)))
    for col in ("id", _("Name"), _("Kind"), _("Tenure"), "ha"):
        table.add_column(col)
    for t in found:
        table.add_row(str(t.id), t.name, code_in(t.kind, get_language()),
                      code_in(t.tenure, get_language()),
                      "-" if t.area_ha is None else number(t.area_ha))
    out.print(table)
