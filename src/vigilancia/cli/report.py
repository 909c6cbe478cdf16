"""``vigilancia report``: the case report for authorities, the monthly community bulletin,
the regional trends, and the addressee templates an organisation edits.

Each command gathers the report with its service, then has it drawn and recorded by
:func:`vigilancia.services.reporting.issue_report` with the renderer of
:mod:`vigilancia.reports` (PDF, or HTML for the bulletin).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from vigilancia.cli.base import App
from vigilancia.cli.common import (
    Workspace,
    actor_name,
    out,
    print_json,
    progress_bar,
    run_reported,
    settings_from_env,
)
from vigilancia.i18n import N_, _

report_app = App(
    help=N_("Reports: the case report for authorities, the monthly community bulletin and "
            "the regional trends (PDF), each with its content hash and the custody chain "
            "head.")
    + "\n\nExample: vigilancia report case ws C-0042 --output informe_C-0042.pdf --to fiscalia",
    no_args_is_help=True,
)

Output = Annotated[Path, typer.Option("--output", "-o", help=N_("File to write."))]
Lang = Annotated[
    str | None, typer.Option("--lang", help=N_("Language of the report: es or en (default: "
                             "VIGILANCIA_LANGUAGE)."))
]
Overwrite = Annotated[
    bool, typer.Option("--overwrite", help=N_("Replace the output file if it exists."))
]
ByOption = Annotated[
    str | None,
    typer.Option("--by", help=N_("Who makes the report, for the custody log (default: your user "
                 "name). Never printed in the report.")),
]
AsJson = Annotated[bool, typer.Option("--json", help=N_("Print what was written as JSON."))]


def _issued(res: Any, note: str | None = None) -> None:
    """What a report command prints: the file, its hashes and the custody entry."""
    out.print(_("Written: {path}", path=escape(str(res.path))), highlight=False)
    out.print(_("Content hash (SHA-256): {hash}", hash=res.content_hash), highlight=False)
    out.print(_("File SHA-256: {hash}", hash=res.document_sha256), highlight=False)
    head = res.issue
    if head.chain_seq is None:
        out.print(_("Custody chain head at issue: none (the custody log is empty)"))
    else:
        out.print(_("Custody chain head at issue: entry {seq}, {hash}", seq=head.chain_seq,
                    hash=head.chain_hash), highlight=False)
    if res.custody_seq is not None:
        out.print(_("Recorded in the custody log as entry {seq}", seq=res.custody_seq))
    if note:
        out.print(f"[yellow]{escape(note)}[/]")


@report_app.command("case")
def report_case(
    workspace: Workspace,
    case: Annotated[str, typer.Argument(help=N_("Case code (C-0042) or number."))],
    output: Output,
    to: Annotated[
        str, typer.Option("--to", help=N_("Who the report is for: fiscalia (environmental "
                          "prosecutor, FEMA), policia (DIRANDRO), defensoria or sernanp."))
    ] = "fiscalia",
    lang: Lang = None,
    imagery: Annotated[
        list[str] | None,
        typer.Option("--imagery", help=N_("Satellite images: auto (Sentinel-2 from the STAC "
                     "API of VIGILANCIA_IMAGERY_STAC_URL when online), none, or image files "
                     "(GeoTIFF or picture; repeat the option for before and after).")),
    ] = None,
    overwrite: Overwrite = False,
    by: ByOption = None,
    as_json: AsJson = False,
) -> None:
    """Write the case report (informe) for an authority.

    It holds maps, coordinates in decimal degrees, DMS and UTM, overlaps, the likely
    driver, images before and after, the patrol's findings with photo hashes, and the
    custody log of the case. It names no monitor.

    The addressee's salutation, legal references and signature come from templates an
    organisation may edit (see vigilancia report templates).

    Example: vigilancia report case ws C-0042 --output informe_C-0042.pdf --to fiscalia
    """
    from vigilancia.reports.case_report import render_case_report
    from vigilancia.services.case_report import case_report
    from vigilancia.services.reporting import issue_report
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()
    choice = [v for v in (imagery or ["auto"]) if v.strip()]
    mode = choice[0].lower() if len(choice) == 1 and choice[0].lower() in ("auto", "none") \
        else "files"
    files = [Path(v) for v in choice] if mode == "files" else []

    def go() -> Any:
        with open_workspace(workspace, settings) as store, progress_bar(True) as tick:
            tick("Gathering the report", 0, 2)
            report = case_report(store, settings, case, addressee=to.strip().lower(),
                                 lang=lang, imagery=mode, imagery_files=files)
            tick("Drawing the report", 1, 2)
            issued, _data = issue_report(store, settings, report, render=render_case_report,
                                         output=output, actor=actor_name(by),
                                         overwrite=overwrite)
            tick("Drawing the report", 2, 2)
            return issued, report.imagery.note

    issued, note = run_reported(go)
    if as_json:
        print_json(issued)
        return
    _issued(issued, note)


@report_app.command("bulletin")
def report_bulletin(
    workspace: Workspace,
    territory: Annotated[
        str, typer.Option("--territory", "-t", help=N_("The community territory, reserve or "
                          "district (name or id)."))
    ],
    month: Annotated[str, typer.Option("--month", help=N_("The month, as YYYY-MM."))],
    output: Annotated[
        Path, typer.Option("--output", "-o", help=N_("File to write: .pdf, or .html for one "
                           "self-contained web page."))
    ],
    lang: Lang = None,
    overwrite: Overwrite = False,
    by: ByOption = None,
    as_json: AsJson = False,
) -> None:
    """Write the monthly bulletin of a community for its assembly.

    It holds the month's new clearings on a map, the cases by priority with what patrols
    found, the risk and what changed since last month, and a 12-month trend. It names no
    monitor.

    Example: vigilancia report bulletin ws -t "CN Puerto Azul" --month 2024-07 -o boletin.pdf
    """
    from vigilancia.errors import InputError
    from vigilancia.reports.bulletin import render_bulletin, render_bulletin_html
    from vigilancia.services.bulletin import bulletin, parse_bulletin_month
    from vigilancia.services.reporting import issue_report
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        suffix = output.suffix.lower()
        if suffix not in (".pdf", ".html", ".htm"):
            raise InputError(_("the bulletin is written as .pdf or .html, not {suffix!r}",
                               suffix=output.suffix or output.name),
                             hint=_("give a file name ending in .pdf or .html"),
                             inputs="output")
        first = parse_bulletin_month(month)
        html = suffix != ".pdf"
        with open_workspace(workspace, settings) as store, progress_bar(True) as tick:
            tick("Gathering the report", 0, 2)
            report = bulletin(store, settings, territory=territory, month=first, lang=lang)
            tick("Drawing the report", 1, 2)
            issued, _data = issue_report(
                store, settings, report,
                render=render_bulletin_html if html else render_bulletin, output=output,
                actor=actor_name(by), overwrite=overwrite, fmt="html" if html else "pdf")
            tick("Drawing the report", 2, 2)
            return issued

    issued = run_reported(go)
    if as_json:
        print_json(issued)
        return
    _issued(issued)


@report_app.command("trends")
def report_trends(
    workspace: Workspace,
    output: Output,
    coca: Annotated[
        list[Path] | None,
        typer.Option("--coca", help=N_("DEVIDA's table of coca hectares by department or by "
                     "zone (CSV; repeat for both).")),
    ] = None,
    loss: Annotated[
        Path | None, typer.Option("--loss", help=N_("Geobosques' table of forest loss by "
                                  "district (CSV with UBIGEO)."))
    ] = None,
    lang: Lang = None,
    overwrite: Overwrite = False,
    by: ByOption = None,
    as_json: AsJson = False,
) -> None:
    """Write the regional trends report.

    It holds clearings and alert area per month by district and territory with their
    likely drivers, the risk ranking, and, when given, DEVIDA's coca hectares and
    Geobosques' district forest loss beside the system's detections. Every figure cites
    its source.

    Example: vigilancia report trends ws --coca coca.csv --loss perdida.csv -o tendencias.pdf
    """
    from vigilancia.reports.trends import render_trends
    from vigilancia.services.reporting import issue_report
    from vigilancia.services.trends import trends
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        with open_workspace(workspace, settings) as store, progress_bar(True) as tick:
            tick("Gathering the report", 0, 2)
            report = trends(store, settings, coca=list(coca or []), loss=loss, lang=lang)
            tick("Drawing the report", 1, 2)
            issued, _data = issue_report(store, settings, report, render=render_trends,
                                         output=output, actor=actor_name(by),
                                         overwrite=overwrite)
            tick("Drawing the report", 2, 2)
            return issued

    issued = run_reported(go)
    if as_json:
        print_json(issued)
        return
    _issued(issued)


@report_app.command("templates")
def report_templates(
    workspace: Workspace,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help=N_("Replace the workspace's copies with the "
                           "packaged ones (your edits are lost)."))
    ] = False,
) -> None:
    """Copy the case report's addressee templates into the workspace, to edit them.

    One file per addressee and language (salutation, legal references, signature block)
    goes to the workspace's plantillas/destinatarios folder. The case report uses a copy
    there instead of the packaged one; copies already there are kept.

    Example: vigilancia report templates ws
    """
    from vigilancia.reports.document import install_templates
    from vigilancia.services.case_report import TEMPLATES_FOLDER
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        with open_workspace(workspace, settings) as store:
            folder = store.dir / TEMPLATES_FOLDER
        return folder, install_templates(folder, overwrite=overwrite)

    folder, (written, kept) = run_reported(go)
    for path in written:
        out.print(_("Written: {path}", path=escape(str(path))), highlight=False)
    for path in kept:
        out.print(_("Kept (already there): {path}", path=escape(str(path))), highlight=False)
    out.print(_("Edit the files in {folder}; the case report uses them from now on.",
                folder=escape(str(folder))), highlight=False)
