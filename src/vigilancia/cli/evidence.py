"""``vigilancia evidence``: verify the kept evidence and its custody log, export a case's
bundle, check a bundle anywhere, record a handover, make copies of photos, show the log."""

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
    out,
    print_json,
    progress_bar,
    run_reported,
    settings_from_env,
)
from vigilancia.i18n import N_, _, ngettext, number

evidence_app = App(
    help=N_("Evidence custody: verify files and the signed log, export and check bundles, "
            "record handovers.")
    + "\n\nExample: vigilancia evidence verify ws && vigilancia evidence export ws C-0003 "
    "--output C-0003.zip",
    no_args_is_help=True,
)

_WORKSPACE = typer.Argument(help=N_("Workspace folder."))
_CASE = typer.Argument(help=N_("Case code (C-0003) or number."))
_BY = typer.Option(
    "--by", help=N_("Who does it (kept in the custody log); default: the user name."))
_JSON = typer.Option("--json", help=N_("Print the result as JSON."))


def _files(n: int) -> str:
    return ngettext("{n} file", "{n} files", n)


def _entries(n: int) -> str:
    return ngettext("{n} log entry", "{n} log entries", n)


def _findings(result: Any) -> None:
    for f in result.findings:
        out.print(f"[bold red]✗[/] {escape(f.message)}", highlight=False, soft_wrap=True)
    style = "bold red" if result.findings else "bold green"
    out.print(f"[{style}]{escape(result.summary())}[/]", highlight=False)


@evidence_app.command("verify")
def evidence_verify(
    workspace: Annotated[Path, _WORKSPACE],
    by: Annotated[str | None, _BY] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Re-hash every kept file and copy, and check the custody log's chain and signatures.

    Names each altered, missing or extra file, and each altered, missing or reordered
    log entry and each bad signature. Exit code 0 with "0 hallazgos" when everything
    is as it was kept, 1 otherwise. A workspace whose files were kept before the log
    existed starts it first (one "registro inicial" entry per file).

    Example: vigilancia evidence verify ws
    """
    from vigilancia.services.evidence import verify_evidence
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()
    actor = actor_name(by)

    def go() -> Any:
        with open_workspace(workspace, settings) as store, progress_bar(not as_json) as tick:
            return verify_evidence(store, settings, actor=actor, progress=tick)

    res = run_reported(go)
    if as_json:
        print_json(res)
        raise typer.Exit(res.exit_code)
    if res.started:
        out.print(ngettext("Custody log started: {n} file kept before it was entered",
                           "Custody log started: {n} files kept before it were entered",
                           res.started))
    out.print("{}, {}".format(
        ngettext("{n} file re-hashed ({mb} MB)", "{n} files re-hashed ({mb} MB)", res.files,
                 mb=number(res.bytes / 1e6, 1)),
        ngettext("{n} log entry checked", "{n} log entries checked", res.entries)))
    if res.head is not None:
        out.print(_("Chain head: entry {seq}, {hash}", seq=res.head.seq, hash=res.head.hash))
    if res.fingerprint:
        out.print(_("Key fingerprint (SHA-256): {fingerprint}", fingerprint=res.fingerprint))
    for note in res.notes:
        console.print(f"[yellow]{_('Note')}:[/] {escape(note)}", highlight=False, soft_wrap=True)
    _findings(res)
    raise typer.Exit(res.exit_code)


@evidence_app.command("export")
def evidence_export(
    workspace: Annotated[Path, _WORKSPACE],
    case: Annotated[str, _CASE],
    output: Annotated[Path, typer.Option("--output", "-o", help=N_("The bundle to write (.zip)."))],
    reason: Annotated[
        str | None, typer.Option("--reason", help=N_("Why it is exported (kept in the log)."))
    ] = None,
    shareable: Annotated[
        bool, typer.Option("--shareable", help=N_("To share beyond the authorities: only the "
                                               "photos, as copies without metadata (no GPS, "
                                               "camera or time); forms and tracks stay out."))
    ] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help=N_("Replace the bundle."))] = False,
    by: Annotated[str | None, _BY] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Write a case's self-verifying evidence bundle: its files, a signed manifest with
    their hashes, the case's custody log entries, the chain head and the public key, and
    a LEEME.txt saying how to check it. Records an export entry.

    Example: vigilancia evidence export ws C-0003 --output C-0003.zip
    """
    from vigilancia.services.evidence_bundle import export_case
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()
    actor = actor_name(by)

    def go() -> Any:
        with open_workspace(workspace, settings) as store, progress_bar(not as_json) as tick:
            return export_case(store, settings, case, output, actor=actor, reason=reason,
                               shareable=shareable, overwrite=overwrite, progress=tick)

    res = run_reported(go)
    if as_json:
        print_json(res)
        return
    out.print(_("Written: {path}", path=res.path))
    out.print(_("Case {case}: {files}, {entries}", case=res.case, files=_files(res.files),
                entries=_entries(res.entries)))
    out.print(_("Chain head: entry {seq}, {hash}", seq=res.head.seq, hash=res.head.hash))
    out.print(_("Key fingerprint (SHA-256): {fingerprint}", fingerprint=res.fingerprint))


@evidence_app.command("check")
def evidence_check(
    bundle: Annotated[Path, typer.Argument(help=N_("The evidence bundle (.zip)."))],
    key: Annotated[
        Path | None, typer.Option("--key", help=N_("The public key the organisation published "
                                                "(.pem); default: the bundle's own."))
    ] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Check an evidence bundle on any computer, with no workspace: every byte of the ZIP,
    the manifest's signature, each file's hash, each log entry's hash and signature.

    Exit code 0 with "0 hallazgos" when the bundle is as it was exported, 1 otherwise.
    Without --key, compare the fingerprint it prints with the one the organisation
    published.

    Example: vigilancia evidence check C-0003.zip --key clave_publica.pem
    """
    from vigilancia.services.evidence_bundle import check_bundle

    settings_from_env()
    res = run_reported(lambda: check_bundle(bundle, public_key=key))
    if as_json:
        print_json(res)
        raise typer.Exit(res.exit_code)
    if res.case:
        out.print(_("Case {case}: {files}, {entries}", case=res.case,
                    files=_files(res.files), entries=_entries(res.entries)))
    if res.head:
        out.print(_("Chain head: entry {seq}, {hash}", seq=res.head.get("seq"),
                    hash=res.head.get("hash")))
    if res.fingerprint:
        out.print(_("Key fingerprint (SHA-256): {fingerprint}", fingerprint=res.fingerprint))
        if not res.key_given:
            console.print(f"[yellow]{_('Note')}:[/] " + escape(_(
                "compare this fingerprint with the one the organisation published, or give "
                "its public key")), highlight=False, soft_wrap=True)
    _findings(res)
    raise typer.Exit(res.exit_code)


@evidence_app.command("key")
def evidence_key(
    workspace: Annotated[Path, _WORKSPACE],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help=N_("Write the public key here (.pem)."))
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help=N_("Replace the file."))] = False,
    by: Annotated[str | None, _BY] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Show the workspace's public key (id and fingerprint) and write it as PEM, to publish
    it or hand it to the authorities by another channel: with it they can check that
    bundles and reports come from this workspace.

    Example: vigilancia evidence key ws --output clave_publica.pem
    """
    from vigilancia.services.custody import public_key
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()
    actor = actor_name(by)

    def go() -> Any:
        with open_workspace(workspace, settings) as store:
            return public_key(store, settings, actor=actor, output=output, overwrite=overwrite)

    key = run_reported(go)
    if as_json:
        print_json(key)
        return
    out.print(_("Key {key_id} (Ed25519), used since {date}", key_id=key.key_id,
                date=key.created_at.strftime("%Y-%m-%d")))
    out.print(_("Key fingerprint (SHA-256): {fingerprint}", fingerprint=key.fingerprint))
    if output is not None:
        out.print(_("Written: {path}", path=output))
    else:
        out.print(key.pem, end="", highlight=False)


@evidence_app.command("handover")
def evidence_handover(
    workspace: Annotated[Path, _WORKSPACE],
    case: Annotated[str, _CASE],
    to: Annotated[str, typer.Option("--to", help=N_("Who received it: office and person."))],
    reason: Annotated[str, typer.Option("--reason", help=N_("Why: the complaint or request."))],
    by: Annotated[str | None, _BY] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Record that a case's evidence was handed to someone, and why: one signed entry of
    the custody log naming every kept file of the case.

    Example: vigilancia evidence handover ws C-0003 --to "Fiscalía Especializada en
    Materia Ambiental de Ucayali" --reason "denuncia por tala y cultivo ilícito"
    """
    from vigilancia.services.custody import record_handover
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()
    actor = actor_name(by)

    def go() -> Any:
        with open_workspace(workspace, settings) as store:
            return record_handover(store, settings, case, to=to, reason=reason, actor=actor)

    entry = run_reported(go)
    if as_json:
        print_json(entry)
        return
    out.print(_("Handover of case {case} to {to} recorded: entry {seq} ({files})",
                case=entry.case_code, to=entry.recipient, seq=entry.seq,
                files=_files(len(entry.sha256s))))


@evidence_app.command("derive")
def evidence_derive(
    workspace: Annotated[Path, _WORKSPACE],
    case: Annotated[
        str | None, typer.Option("--case", help=N_("Only the photos of this case (C-0003)."))
    ] = None,
    kind: Annotated[
        str, typer.Option("--kind", help=N_("reducida/resized (smaller, for reports and the "
                                            "web) or sin_metadatos/stripped (full size, to "
                                            "share)."))
    ] = "resized",
    max_px: Annotated[
        int | None, typer.Option("--max-px", help=N_("Longest side of resized copies "
                                                  "(pixels; default 1600)."))
    ] = None,
    by: Annotated[str | None, _BY] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Make copies of kept photos without their metadata (no GPS, camera or time): resized
    for reports and the web, or full size to share. Originals are never touched; each
    copy is a separate file with its own custody entry.

    Example: vigilancia evidence derive ws --case C-0003 --kind stripped
    """
    from vigilancia.services.derived import derive_copies
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()
    actor = actor_name(by)

    def go() -> Any:
        with open_workspace(workspace, settings) as store, progress_bar(not as_json) as tick:
            return derive_copies(store, settings, kind=kind, actor=actor, case=case,
                                 max_px=max_px, progress=tick)

    res = run_reported(go)
    if as_json:
        print_json(res)
        return
    for copy in res.copies:
        out.print(f"{copy.stored_path}  ({copy.width} x {copy.height})  ← {escape(copy.name)}",
                  highlight=False)
    existing = len(res.copies) - res.made
    out.print("{} {}".format(
        ngettext("{n} copy made", "{n} copies made", res.made),
        ngettext("({n} made before)", "({n} made before)", existing)))
    for s in res.skipped:
        console.print(f"[yellow]{_('Skipped')}:[/] {escape(s.name)}: {escape(s.message)}",
                      highlight=False, soft_wrap=True)


@evidence_app.command("log")
def evidence_log(
    workspace: Annotated[Path, _WORKSPACE],
    case: Annotated[
        str | None, typer.Option("--case", help=N_("Only the entries of this case (C-0003)."))
    ] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Show the custody log: number, time (UTC), who, what, case, files and why.

    Example: vigilancia evidence log ws --case C-0003
    """
    from vigilancia.services.custody import custody_log
    from vigilancia.services.texts.custody import action_name
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        with open_workspace(workspace, settings) as store:
            return custody_log(store, case=case)

    entries = run_reported(go)
    if as_json:
        print_json(entries)
        return
    table = Table(title=_("Custody log"))
    for col in ("#", _("Time (UTC)"), _("Who"), _("Action"), _("Case"), _("Files"),
                _("Reason")):
        table.add_column(col)
    for e in entries:
        reason = e.reason if e.recipient is None else f"{e.recipient}: {e.reason}"
        table.add_row(str(e.seq), e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor,
                      action_name(e.action), e.case_code or "", str(len(e.sha256s)), reason)
    out.print(table)
    out.print(ngettext("{n} entry", "{n} entries", len(entries)))
