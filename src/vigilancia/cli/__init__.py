"""Command line: thin commands that parse, call one service and print the result.

Errors of the :class:`~vigilancia.errors.VigilanciaError` hierarchy become a
one-line message (file, problem, fix) and an exit code; nothing else leaks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from vigilancia.cli.airstrips import airstrips_app
from vigilancia.cli.cases import cases_app
from vigilancia.cli.classifier import classifier_app, labels_app
from vigilancia.cli.common import (
    out,
    parse_date,
    print_json,
    progress_bar,
    run_reported,
    settings_from_env,
)
from vigilancia.cli.field import field_app
from vigilancia.cli.layers import KIND_LABELS, layers_app
from vigilancia.cli.package import package_command
from vigilancia.cli.patrol import patrol_app
from vigilancia.cli.risk import risk_app
from vigilancia.cli.routes import routes_command
from vigilancia.domain.alerts import ALL_PRODUCTS, Confidence
from vigilancia.domain.territories import TerritoryKind
from vigilancia.errors import InputError
from vigilancia.i18n import _, ngettext
from vigilancia.services.driver_text import driver_name

app = typer.Typer(
    name="vigilancia",
    help="Monitoreo territorial indígena y alerta temprana / Indigenous territorial monitoring.\n\n"
    "Example: vigilancia init ws && vigilancia territories import ws comunidades.geojson "
    "&& vigilancia monitor ws --alerts alertas.tif --since 2024-01-01",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
territories_app = typer.Typer(
    help="Community territories, reserves, protected areas and districts.", no_args_is_help=True
)
clearings_app = typer.Typer(help="Clearings found in the alerts.", no_args_is_help=True)
app.add_typer(territories_app, name="territories")
app.add_typer(clearings_app, name="clearings")
app.add_typer(layers_app, name="layers")
app.add_typer(field_app, name="field")
app.add_typer(classifier_app, name="classifier")
app.add_typer(labels_app, name="labels")
app.add_typer(airstrips_app, name="airstrips")
app.add_typer(risk_app, name="risk")
app.add_typer(cases_app, name="cases")
app.add_typer(patrol_app, name="patrol")
app.command("routes")(routes_command)
app.command("package")(package_command)


@app.command()
def init(
    workspace: Annotated[Path, typer.Argument(help="Folder for the new workspace.")],
    name: Annotated[str | None, typer.Option(help="Name of the organisation or region.")] = None,
) -> None:
    """Create a workspace.

    Example: vigilancia init ~/monitoreo/kakataibo --name "Kakataibo"
    """
    from vigilancia.services.workspace import init_workspace

    settings = settings_from_env()

    def go() -> None:
        with init_workspace(workspace, settings, name=name):
            pass

    run_reported(go)
    out.print(_("Workspace created at {path}", path=workspace))


@territories_app.command("import")
def territories_import(
    workspace: Annotated[Path, typer.Argument(help="Workspace folder.")],
    file: Annotated[
        str,
        typer.Argument(
            help="GeoPackage, GeoJSON, Shapefile (.shp or .zip), "
            "Esri JSON, KML, or an ArcGIS MapServer/N URL."
        ),
    ],
    kind: Annotated[
        TerritoryKind, typer.Option(help="What the polygons are.")
    ] = TerritoryKind.COMMUNITY,
    name_field: Annotated[
        str | None, typer.Option(help="Field with the name (guessed if absent).")
    ] = None,
    layer: Annotated[str | None, typer.Option(help="Layer of a multi-layer file.")] = None,
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
    workspace: Annotated[Path, typer.Argument(help="Workspace folder.")],
    kind: Annotated[
        TerritoryKind | None, typer.Option(help="Only territories of this kind.")
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
        table.add_row(str(t.id), t.name, t.kind.value, t.tenure.value,
                      "-" if t.area_ha is None else f"{t.area_ha:,.0f}")
    out.print(table)


@app.command()
def monitor(
    workspace: Annotated[Path, typer.Argument(help="Workspace folder.")],
    alerts: Annotated[
        str,
        typer.Option(
            "--alerts",
            help="Alert raster (.tif), folder of tiles, "
            "COG URL, or vector alerts (.parquet/.csv/.geojson).",
        ),
    ],
    since: Annotated[str | None, typer.Option(help="First alert date, YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option(help="Last alert date, YYYY-MM-DD.")] = None,
    product: Annotated[str, typer.Option(help="auto|" + "|".join(ALL_PRODUCTS))] = "auto",
    min_confidence: Annotated[str, typer.Option(help="low|high|highest")] = "low",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a machine-readable summary.")
    ] = False,
    classify: Annotated[
        bool,
        typer.Option(
            "--classify/--no-classify",
            help="Predict the likely driver (coca, airstrip, mining...) of the new clearings.",
        ),
    ] = True,
) -> None:
    """Run the monitoring cycle: ingest alerts, group clearings, place them on territories,
    predict their likely driver.

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
        )
        with open_workspace(workspace, settings) as store, progress_bar(not as_json) as tick:
            return run_monitor(store, req, settings, tick)

    result = run_reported(go)
    if as_json:
        print_json(result)
        return
    _print_monitor(result)


def _print_monitor(result: Any) -> None:
    for b in result.batches:
        if b.skipped:
            out.print(_("Batch already ingested (nothing added): {source}", source=b.source))
        else:
            out.print(
                ngettext(
                    "Ingested {source} ({product}): {n} clearing, {area:.1f} ha",
                    "Ingested {source} ({product}): {n} clearings, {area:.1f} ha",
                    b.clearings,
                    source=b.source,
                    product=b.product,
                    area=b.area_ha,
                )
            )
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
            str(t.clearings),
            f"{t.area_ha:.2f}",
            str(t.first_date or ""),
            str(t.last_date or ""),
        )
    out.print(table)
    out.print(ngettext("Total: {n} clearing, {area:.1f} ha",
                       "Total: {n} clearings, {area:.1f} ha",
                       result.clearings, area=result.area_ha))
    if result.drivers:
        drivers = Table(title=_("Likely driver ({model})", model=result.model_version))
        drivers.add_column(_("Driver"))
        drivers.add_column(_("Clearings"))
        for driver, n in result.drivers.items():
            drivers.add_row(driver_name(driver), str(n))
        out.print(drivers)


@clearings_app.command("export")
def clearings_export(
    workspace: Annotated[Path, typer.Argument(help="Workspace folder.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="gpkg|geojson|csv|fgb")] = "gpkg",
    overwrite: Annotated[bool, typer.Option(help="Replace an existing file.")] = False,
) -> None:
    """Export clearings with their features and placement (opens in QGIS).

    Example: vigilancia clearings export ws --format gpkg --output claros.gpkg
    """
    from vigilancia.services.export import export_clearings
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        if fmt not in ("gpkg", "geojson", "csv", "fgb"):
            raise InputError(_("unknown format {fmt}", fmt=fmt), hint="gpkg|geojson|csv|fgb")
        with open_workspace(workspace, settings) as store:
            return export_clearings(store, output, fmt, overwrite=overwrite)  # type: ignore[arg-type]

    res = run_reported(go)
    out.print(ngettext("{n} clearing written to {path}",
                       "{n} clearings written to {path}",
                       res.count, path=res.path))


@app.command()
def demo(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the demo.")] = Path(
        "demo-output"
    ),
) -> None:
    """Run the whole cycle on a seeded sample region (no network, no data needed).

    Example: vigilancia demo --output demo-output
    """
    from vigilancia.services.demo import run_demo

    settings = settings_from_env()

    def go() -> Any:
        with progress_bar(True) as tick:
            return run_demo(output, settings, tick)

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
    _print_monitor(res.monitor)
    from vigilancia.services.case_text import opened_text
    from vigilancia.services.package import human_size
    from vigilancia.services.risk_text import explain

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
                       km=f"{res.plan.total_km:.1f}", hours=f"{res.plan.total_hours:.1f}"))
    out.print(ngettext("Offline package: {n} file, {size}",
                       "Offline package: {n} files, {size}",
                       len(res.package.files), size=human_size(res.package.total_bytes)))
    out.print(f"[bold]{_('Outputs')}[/]:")
    out.print(f"  {_('workspace')}: {res.workspace}")
    for p in res.exports:
        out.print(f"  {p}")


def main() -> None:
    """Entry point of the ``vigilancia`` command."""
    app(prog_name="vigilancia")


if __name__ == "__main__":  # pragma: no cover
    main()
