"""``vigilancia territories``: import, replace, remove and list community territories,
reserves, protected areas and districts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from vigilancia.cli.base import App
from vigilancia.cli.common import (
    actor_name,
    out,
    print_json,
    progress_bar,
    run_reported,
    settings_from_env,
)
from vigilancia.domain.codes import code_in
from vigilancia.domain.territories import TerritoryKind
from vigilancia.i18n import N_, _, get_language, ngettext, number
from vigilancia.services.texts.territories import kind_name, placement_text

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
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help=N_("The file is a newer version of the whole layer of this kind: territories "
                    "with the same name are updated in place (keeping their number, cases and "
                    "plans), those not in the file are removed, new ones added."),
        ),
    ] = False,
    by: Annotated[
        str | None,
        typer.Option("--by", help=N_("Who makes the change, for the history of the cases it "
                                     "moves (default: your user name).")),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=N_("Print the result as JSON."))] = False,
) -> None:
    """Import territory polygons; invalid geometry is repaired and reported.

    The stored clearings are placed again on the territories (only those the
    change can affect), in the same transaction: importing territories after the
    alerts gives what importing them before would have.

    Example: vigilancia territories import ws comunidades.gpkg --kind community --name-field nomcom
    """
    from vigilancia.services.territories import import_territories
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        with open_workspace(workspace, settings) as store, progress_bar(not as_json) as tick:
            return import_territories(store, file, kind=kind, name_field=name_field, layer=layer,
                                      progress=tick, replace=replace, settings=settings,
                                      actor=actor_name(by))

    res = run_reported(go)
    if as_json:
        print_json(res)
        return
    if res.skipped_existing:
        out.print(_("Already imported: {source} (nothing added)", source=res.source))
        return
    out.print(ngettext("{n} territory imported from {source}",
                       "{n} territories imported from {source}",
                       res.imported, source=res.source))
    if replace:
        out.print(_("Layer replaced: {updated} updated ({reshaped} with another polygon), "
                    "{removed} removed, {same} unchanged", updated=len(res.updated),
                    reshaped=len(res.reshaped), removed=len(res.removed), same=res.unchanged))
    if res.repairs:
        out.print(ngettext("{n} geometry repaired:", "{n} geometries repaired:", len(res.repairs)))
        for r in res.repairs[:20]:
            out.print(f"  - {r.feature}: {r.problem} → {r.action}", highlight=False)
        if len(res.repairs) > 20:
            out.print(_("  ... and {n} more", n=len(res.repairs) - 20))
    for d in res.dropped[:20]:
        out.print(f"  ! {d}", highlight=False)
    _print_changes(res.placement, res.cases)


@territories_app.command("remove")
def territories_remove(
    workspace: Annotated[Path, typer.Argument(help=N_("Workspace folder."))],
    territories: Annotated[
        list[str], typer.Argument(help=N_("Territories to remove: number (id) or name."))
    ],
    by: Annotated[
        str | None,
        typer.Option("--by", help=N_("Who makes the change, for the history of the cases it "
                                     "moves (default: your user name).")),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=N_("Print the result as JSON."))] = False,
) -> None:
    """Remove territories; their clearings are placed again and their cases move.

    The clearings they held or were nearest to are placed again on the other
    territories, in the same transaction; their cases go to the territory that
    now holds their clearings (or keep none); their patrol plans are removed.

    Example: vigilancia territories remove ws 12 "CN Puerto Azul"
    """
    from vigilancia.services.territories import remove_territories
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        with open_workspace(workspace, settings) as store, progress_bar(not as_json) as tick:
            return remove_territories(store, territories, settings=settings,
                                      actor=actor_name(by), progress=tick)

    res = run_reported(go)
    if as_json:
        print_json(res)
        return
    for t in res.removed:
        out.print(_("Removed {id}: {name} ({kind})", id=t.id, name=t.name,
                    kind=kind_name(t.kind)), highlight=False)
    if res.patrol_plans:
        out.print(ngettext("{n} patrol plan removed with its territory",
                           "{n} patrol plans removed with their territory", res.patrol_plans))
    _print_changes(res.placement, res.cases)


def _print_changes(placement: Any, cases: Any) -> None:
    """The clearings placed again and the cases moved, in words."""
    out.print(placement_text(placement.clearings, placement.moved))
    if cases.rehomed:
        out.print(ngettext("{n} case moved to the territory that now holds its clearings",
                           "{n} cases moved to the territory that now holds their clearings",
                           cases.rehomed))
    if cases.orphaned:
        out.print(ngettext("{n} case now lies in no territory",
                           "{n} cases now lie in no territory", cases.orphaned))


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
