"""``vigilancia layers``: context layers (rivers, roads, trails, settlements, airstrips...)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from vigilancia.cli.base import App
from vigilancia.cli.common import out, progress_bar, run_reported, settings_from_env
from vigilancia.domain.context import ContextKind
from vigilancia.i18n import N_, _, ngettext, number

layers_app = App(
    help=N_("Context layers: rivers, roads, trails, settlements, airstrips, borders, exits, camps.")
    + "\n\nExample: vigilancia layers import ws rios.geojson --kind river --class-field TIPO",
    no_args_is_help=True,
)

KIND_LABELS = {
    ContextKind.RIVER: lambda: _("rivers"),
    ContextKind.ROAD: lambda: _("roads"),
    ContextKind.TRAIL: lambda: _("trails"),
    ContextKind.SETTLEMENT: lambda: _("settlements"),
    ContextKind.AIRSTRIP: lambda: _("airstrips"),
    ContextKind.BORDER: lambda: _("borders"),
    ContextKind.EXIT: lambda: _("exits"),
    ContextKind.CAMP: lambda: _("camps"),
}

_FAMILY_COUNTS: dict[str, Callable[[int], str]] = {
    "point": lambda n: ngettext("{n} point", "{n} points", n),
    "line": lambda n: ngettext("{n} line", "{n} lines", n),
    "polygon": lambda n: ngettext("{n} polygon", "{n} polygons", n),
    "mixed": lambda n: ngettext("{n} mixed geometry", "{n} mixed geometries", n),
}


@layers_app.command("import")
def layers_import(
    workspace: Annotated[Path, typer.Argument(help=N_("Workspace folder."))],
    file: Annotated[
        str,
        typer.Argument(
            help=N_("GeoPackage, GeoJSON, Shapefile (.shp or .zip), FlatGeobuf, "
            "KML/KMZ, Esri JSON, or an ArcGIS MapServer/N URL.")
        ),
    ],
    kind: Annotated[str, typer.Option("--kind", help=N_(
        "What the features are: river, road, trail, settlement, airstrip, border, exit, camp."))],
    name_field: Annotated[
        str | None, typer.Option(help=N_("Field with the name (guessed if absent)."))
    ] = None,
    class_field: Annotated[
        str | None,
        typer.Option(help=N_("Field with the class, e.g. TIPO: Río, Quebrada "
                             "(guessed if absent).")),
    ] = None,
    layer: Annotated[str | None, typer.Option(help=N_("Layer of a multi-layer file."))] = None,
    coverage: Annotated[
        Path | None,
        typer.Option(
            "--coverage",
            help=N_("Polygons of the area the layer covers (e.g. its department). Default: "
                    "the extent of its features plus 2 km. Outside it, the distance to this "
                    "kind is unknown, never far. Given for a file imported before, it replaces "
                    "that file's coverage."),
        ),
    ] = None,
) -> None:
    """Import a context layer (points, lines or polygons); broken geometry is repaired.

    Example: vigilancia layers import ws vias_ucayali.geojson --kind road --coverage ucayali.geojson
    """
    from vigilancia.services.layers import import_layer
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        with open_workspace(workspace, settings) as store, progress_bar(True) as tick:
            return import_layer(
                store,
                file,
                kind,
                name_field=name_field,
                class_field=class_field,
                layer=layer,
                progress=tick,
                coverage=coverage,
            )

    res = run_reported(go)
    if res.skipped_existing:
        out.print(
            _("Already imported: {source} (nothing added)", source=res.source),
            highlight=False,
            soft_wrap=True,
        )
        if res.coverage_updated:
            out.print(_("Its coverage is now {coverage} ({area} km²)", coverage=res.coverage,
                        area=number(res.coverage_km2)), highlight=False, soft_wrap=True)
        return
    shapes = ", ".join(_FAMILY_COUNTS[family](n) for family, n in res.geometries.items())
    out.print(
        ngettext(
            "{n} feature imported as {kind} from {source} ({shapes})",
            "{n} features imported as {kind} from {source} ({shapes})",
            res.imported,
            kind=KIND_LABELS[res.kind](),
            source=res.source,
            shapes=shapes,
        ),
        highlight=False,
        soft_wrap=True,
    )
    out.print(
        _(
            "Names from: {name}; classes from: {klass}",
            name=res.name_field or "-",
            klass=res.class_field or "-",
        ),
        highlight=False,
        soft_wrap=True,
    )
    if res.coverage_km2 is not None:
        out.print(
            _("Coverage: {coverage} ({area} km²); outside it the distance to {kind} is unknown",
              coverage=res.coverage or _("the extent of its features plus 2 km"),
              area=number(res.coverage_km2), kind=KIND_LABELS[res.kind]()),
            highlight=False,
            soft_wrap=True,
        )
    if res.repairs:
        out.print(ngettext("{n} geometry repaired:", "{n} geometries repaired:", len(res.repairs)))
        for r in res.repairs[:20]:
            out.print(f"  - {r.feature}: {r.problem} → {r.action}", highlight=False)
        if len(res.repairs) > 20:
            out.print(_("  ... and {n} more", n=len(res.repairs) - 20))
    for d in res.dropped[:20]:
        out.print(f"  ! {d}", highlight=False)
    if len(res.dropped) > 20:
        out.print(_("  ... and {n} more", n=len(res.dropped) - 20))


@layers_app.command("list")
def layers_list(
    workspace: Annotated[Path, typer.Argument(help=N_("Workspace folder."))],
) -> None:
    """Show how many features of each kind of context layer the workspace holds.

    Example: vigilancia layers list ws
    """
    from vigilancia.services.layers import layer_summary
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        with open_workspace(workspace, settings) as store:
            return layer_summary(store)

    rows = run_reported(go)
    table = Table(title=_("Context layers"))
    table.add_column(_("Kind"))
    table.add_column(_("Features"), justify="right")
    for kind, n in rows:
        table.add_row(f"{KIND_LABELS[kind]()} ({kind.value})", number(n) if n else "-")
    out.print(table)
