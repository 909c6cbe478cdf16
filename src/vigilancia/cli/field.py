"""``vigilancia field``: import what patrols bring back, and list it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from vigilancia.cli.base import App
from vigilancia.cli.common import (
    actor_name,
    console,
    option_text,
    out,
    print_json,
    progress_bar,
    run_reported,
    settings_from_env,
)
from vigilancia.domain.codes import code_in
from vigilancia.i18n import N_, _, get_language, ngettext, number

#: A value shown with the option a warning points at.
_EXAMPLES = {"utc_offset": "-05:00"}

field_app = App(
    help=N_("Field data: CoMapeo, ODK/Kobo, GPX, KML/KMZ and photos, attached to cases.")
    + "\n\nExample: vigilancia field import ws visitas.zip CoMapeo_export.zip ruta.gpx DCIM/",
    no_args_is_help=True,
)


@field_app.command("import")
def field_import(
    workspace: Annotated[Path, typer.Argument(help=N_("Workspace folder."))],
    paths: Annotated[
        list[Path],
        typer.Argument(help=N_("Files, export folders or ZIPs: CoMapeo/Mapeo export, ODK Central "
                            "or Kobo CSV/ZIP, .gpx, .kml/.kmz, photos (a DCIM folder).")),
    ],
    by: Annotated[
        str | None,
        typer.Option("--by", help=N_("Who imports (kept in the private case history); "
                                  "default: the user name.")),
    ] = None,
    utc_offset: Annotated[
        str | None,
        typer.Option("--utc-offset", help=N_("UTC offset of the clocks of photos (and records) "
                                             "whose time has no time zone, e.g. -05:00 for "
                                             "Peru; without it their time is left out.")),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=N_("Print the result as JSON."))] = False,
) -> None:
    """Keep field files byte for byte, store their observations and attach them to cases.

    An observation that names a case (the ODK form's case_id, or a waypoint whose
    name holds the code, as "C-0645 coca") attaches to it; otherwise to the nearest
    open case within VIGILANCIA_FIELD_MATCH_M metres (300); a report (verdict,
    notes, photo) far from every case opens a new case. Verdicts verify cases and
    label their clearings. Re-importing the same files adds nothing (with
    --utc-offset it gives a time to records that had none); broken files are named
    and the rest import (exit code 2 only when nothing could be read). Archives may
    expand to VIGILANCIA_FIELD_MAX_IMPORT_MB (2048 MB) per import at most.

    Example: vigilancia field import ws visitas.zip CoMapeo_export.zip DCIM/ --utc-offset=-05:00
    """
    from vigilancia.services.field import import_field
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()
    actor = actor_name(by)

    def go() -> Any:
        with open_workspace(workspace, settings) as store, progress_bar(not as_json) as tick:
            return import_field(store, settings, paths, actor=actor, utc_offset=utc_offset,
                                progress=tick)

    res = run_reported(go)
    if as_json:
        print_json(res)
        raise typer.Exit(res.exit_code)
    from vigilancia.services.texts.cases import status_name, verdict_name

    if res.cases:
        table = Table(title=_("Cases touched"))
        for col in (_("Case"), _("Status"), _("Observations"), _("Verdict"), _("New")):
            table.add_column(col)
        for c in res.cases:
            table.add_row(c.code, status_name(c.status), str(c.observations),
                          verdict_name(c.verdict), _("yes") if c.opened else "")
        out.print(table)
    for track in res.tracks:
        out.print(_("Track {record} of {source} passed cases: {cases}", record=track.record_id,
                    source=Path(track.source).name, cases=", ".join(track.cases)))
    out.print(", ".join([
        "{} {}".format(
            ngettext("{n} observation added", "{n} observations added", res.observations_added,
                     n=res.observations_added),
            ngettext("({n} already imported)", "({n} already imported)",
                     res.observations_skipped, n=res.observations_skipped)),
        ngettext("{n} attached to cases", "{n} attached to cases", res.attached,
                 n=res.attached),
        ngettext("{n} new case", "{n} new cases", len(res.new_cases), n=len(res.new_cases)),
        ngettext("{n} verdict applied", "{n} verdicts applied", res.verdicts_applied,
                 n=res.verdicts_applied),
    ]))
    out.print("{} {}".format(
        ngettext("{n} file kept as evidence", "{n} files kept as evidence", res.files_kept,
                 n=res.files_kept),
        ngettext("({n} was already kept)", "({n} were already kept)", res.files_known,
                 n=res.files_known)))
    if res.times_set:
        out.print(ngettext("{n} observation imported before got its time",
                           "{n} observations imported before got their time",
                           res.times_set, n=res.times_set))
    for w in res.warnings:
        fix = "; ".join(option_text(name, _EXAMPLES.get(name)) for name in w.inputs)
        console.print(f"[yellow]{_('Warning')}:[/] {escape(w.message)}"
                      + (f" ({escape(fix)})" if fix else ""), highlight=False, soft_wrap=True)
    for f in res.failures:
        console.print(f"[bold red]{_('Not imported')}:[/] {f.message}", highlight=False,
                      soft_wrap=True)
    raise typer.Exit(res.exit_code)


@field_app.command("list")
def field_list(
    workspace: Annotated[Path, typer.Argument(help=N_("Workspace folder."))],
    case: Annotated[
        str | None, typer.Option("--case", help=N_("Only the observations of this case (C-0042)."))
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=N_("Print the list as JSON."))] = False,
) -> None:
    """List stored field observations: format, kind, time, case, distance and verdict.

    Positions are not printed (tracks and report points are sensitive).

    Example: vigilancia field list ws --case C-0042
    """
    from vigilancia.services.field import list_observations
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        with open_workspace(workspace, settings) as store:
            return list_observations(store, case=case)

    rows = run_reported(go)
    if as_json:
        print_json(rows)
        return
    from vigilancia.services.texts.cases import verdict_name

    table = Table(title=_("Field observations"))
    for col in ("#", _("Format"), _("Kind"), _("Record"), _("Time (UTC)"), _("Case"),
                _("Distance (m)"), _("Verdict"), _("Files")):
        table.add_column(col)
    for o in rows:
        name = code_in(o.kind, get_language())
        kind = name if o.points <= 1 else f"{name} ({number(o.points)})"
        table.add_row(
            str(o.id), o.source_format, kind, o.record_id,
            o.observed_at.strftime("%Y-%m-%d %H:%M") if o.observed_at else "",
            o.case_code or "", "" if o.distance_m is None else number(o.distance_m),
            verdict_name(o.verdict), str(o.attachments),
        )
    out.print(table)
    out.print(ngettext("{n} observation", "{n} observations", len(rows)))

