"""``vigilancia cases``: open cases from clearings, list them, assign them, record verdicts."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from vigilancia.cli.base import App
from vigilancia.cli.common import (
    Workspace,
    actor_name,
    out,
    parse_date,
    print_json,
    progress_bar,
    run_reported,
    settings_from_env,
)
from vigilancia.domain.codes import code_in
from vigilancia.i18n import N_, _, get_language, ngettext, number

cases_app = App(
    help=N_("Cases to verify in the field: open, list, assign, verdicts and history.")
    + "\n\nExample: vigilancia cases open ws --territory \"CN Puerto Azul\"",
    no_args_is_help=True,
)

ByOption = Annotated[
    str | None,
    typer.Option("--by", help=N_("Who makes the change, for the history "
                                 "(default: your user name).")),
]



@cases_app.command("open")
def cases_open(
    workspace: Workspace,
    territory: Annotated[
        str | None, typer.Option("--territory", "-t", help=N_(
            "Only this community territory, reserve or district without communities (name "
            "or id)."))
    ] = None,
    since: Annotated[
        str | None, typer.Option(help=N_("Only clearings with alerts since YYYY-MM-DD."))
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help=N_("Date recency is counted from "
                                 "(default: the newest alert)."))
    ] = None,
    by: ByOption = None,
    as_json: Annotated[bool, typer.Option("--json", help=N_("Print the result as JSON."))] = False,
) -> None:
    """Group new clearings in or near each community into cases, with a priority.

    A clearing belongs to the community territory or reserve it overlaps most,
    else to the nearest one within VIGILANCIA_BUFFER_KM, else to the district it
    lies in when no community territory lies in that district (a workspace with
    districts only opens cases per district). Clearings closer than
    VIGILANCIA_CASE_GROUP_M metres form one case; a new clearing next to an open
    case joins it. A group smaller than VIGILANCIA_CASE_MIN_AREA_HA hectares
    waits until it grows. Re-running adds only what is new.

    Example: vigilancia cases open ws --since 2024-06-01
    """
    from vigilancia.services.cases import open_cases
    from vigilancia.services.texts.cases import opened_text, outside_text
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        with open_workspace(workspace, settings) as store, progress_bar(not as_json) as tick:
            return open_cases(store, settings, territory=territory,
                              since=parse_date(since, "--since"),
                              as_of=parse_date(as_of, "--as-of"), actor=actor_name(by),
                              progress=tick)

    res = run_reported(go)
    if as_json:
        print_json(res)
        return
    out.print(opened_text(len(res.opened), res.clearings, len(res.grown)))
    why = outside_text(units=res.units, uncased=res.uncased, outside=res.outside,
                       buffer_km=settings.buffer_km, communities=res.communities)
    if why:
        out.print(why)
    if res.waiting:
        out.print(ngettext(
            "{n} clearing waits in groups under {ha} ha (VIGILANCIA_CASE_MIN_AREA_HA)",
            "{n} clearings wait in groups under {ha} ha (VIGILANCIA_CASE_MIN_AREA_HA)",
            res.waiting, ha=f"{settings.case_min_area_ha:g}"))
    for name, n in sorted(res.per_territory.items(), key=lambda kv: -kv[1]):
        out.print(f"  {name}: {n}", highlight=False)


@cases_app.command("list")
def cases_list(
    workspace: Workspace,
    territory: Annotated[
        str | None, typer.Option("--territory", "-t", help=N_(
            "Only this community territory, reserve or district (name or id)."))
    ] = None,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", "-s", help=N_("Only these statuses (repeatable): new, assigned, "
                     "in_field, verified, reported, closed, dismissed (or the Spanish "
                     "codes).")),
    ] = None,
    open_only: Annotated[
        bool, typer.Option("--open", help=N_("Only cases still to verify."))
    ] = False,
    top: Annotated[int, typer.Option("--top", help=N_("Rows shown in the table."))] = 50,
    as_json: Annotated[bool, typer.Option("--json", help=N_("Print the cases as JSON."))] = False,
) -> None:
    """List cases, highest priority first.

    Example: vigilancia cases list ws --territory "CN Puerto Azul" --open
    """
    from vigilancia.services.cases import list_cases, parse_status
    from vigilancia.services.texts.cases import status_name, verdict_name
    from vigilancia.services.texts.drivers import driver_name
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        wanted = [parse_status(s) for s in status] if status else None
        with open_workspace(workspace, settings) as store:
            return list_cases(store, territory=territory, statuses=wanted, open_only=open_only)

    found = run_reported(go)
    if as_json:
        print_json(found)
        return
    table = Table(title=ngettext("{n} case", "{n} cases", len(found)))
    for col in (_("Case"), _("Community"), _("Status"), _("Priority"), _("Driver"), "ha",
                _("Last alert")):
        table.add_column(col)
    for row in found[:top]:
        c = row.case
        state = status_name(c.status)
        if c.verdict is not None:
            state += f" ({verdict_name(c.verdict)})"
        table.add_row(
            c.code, row.territory or "-", state, number(c.priority),
            driver_name(c.driver) if c.driver else "-", number(c.area_ha, 1),
            c.last_alert.isoformat() if c.last_alert else "-",
        )
    out.print(table)


@cases_app.command("show")
def cases_show(
    workspace: Workspace,
    case: Annotated[str, typer.Argument(help=N_("Case code (C-0042) or number."))],
    as_json: Annotated[bool, typer.Option("--json", help=N_("Print the case as JSON."))] = False,
) -> None:
    """Show one case: where it is, its clearings, priority, verdict, full history, and the
    field observations and evidence files attached to it (positions are not printed).

    Example: vigilancia cases show ws C-0042
    """
    from vigilancia.services.cases import show_case
    from vigilancia.services.package import human_size
    from vigilancia.services.texts.cases import priority_text, status_name, verdict_name
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        with open_workspace(workspace, settings) as store:
            return show_case(store, case)

    detail = run_reported(go)
    if as_json:
        print_json(detail)
        return
    found, events = detail.case, detail.history
    out.print(f"[bold]{found.code}[/] · {escape(detail.territory or '-')} · "
              f"{status_name(found.status)}"
              + (f" · {verdict_name(found.verdict)}" if found.verdict else ""))
    out.print(ngettext("Position: {lat}, {lon}; {n} clearing, {ha} ha; alerts {first} to {last}",
                       "Position: {lat}, {lon}; {n} clearings, {ha} ha; alerts {first} to {last}",
                       len(found.clearing_ids),
                       lat=f"{found.lat:.5f}", lon=f"{found.lon:.5f}",
                       ha=number(found.area_ha, 1), first=found.first_alert or "-",
                       last=found.last_alert or "-"), highlight=False)
    out.print(_("Priority {p}: {why}", p=number(found.priority),
                why=priority_text(found.priority_terms, found.driver)), highlight=False)
    if found.assignee:
        out.print(_("Assigned to: {who}", who=found.assignee), highlight=False)
    table = Table(title=_("History"))
    for col in (_("When"), _("Who"), _("What"), _("Status"), _("Details")):
        table.add_column(col)
    for e in events:
        moved = "" if e.to_status is None else (
            status_name(e.to_status) if e.from_status in (None, e.to_status)
            else f"{status_name(e.from_status)} → {status_name(e.to_status)}")
        table.add_row(e.at.strftime("%Y-%m-%d %H:%M"), e.actor, e.action, moved,
                      ", ".join(f"{k}: {v}" for k, v in dict(e.detail).items()))
    out.print(table)
    if detail.observations:
        obs = Table(title=_("Field observations"))
        for col in ("#", _("Format"), _("Kind"), _("Record"), _("Time (UTC)"),
                    _("Distance (m)"), _("Verdict"), _("Files")):
            obs.add_column(col)
        for o in detail.observations:
            obs.add_row(
                str(o.id), o.source_format, code_in(o.kind, get_language()), o.record_id,
                o.observed_at.strftime("%Y-%m-%d %H:%M") if o.observed_at else "",
                "" if o.distance_m is None else number(o.distance_m),
                verdict_name(o.verdict), str(o.attachments),
            )
        out.print(obs)
    if detail.evidence:
        files = Table(title=_("Evidence files"))
        for col in (_("File"), _("Size"), "SHA-256"):
            files.add_column(col)
        for f in detail.evidence:
            files.add_row(f.name, human_size(f.size), f.sha256[:16] + "…")
        out.print(files)


@cases_app.command("assign")
def cases_assign(
    workspace: Workspace,
    cases: Annotated[list[str], typer.Argument(help=N_("Case codes (C-0042) or numbers."))],
    to: Annotated[str, typer.Option("--to", help=N_("Monitor or patrol team that will visit."))],
    by: ByOption = None,
) -> None:
    """Assign cases to a monitor or patrol team (the name stays in the workspace only).

    Example: vigilancia cases assign ws C-0042 C-0043 --to "Equipo Yamino"
    """
    from vigilancia.services.cases import assign_cases, parse_case_id
    from vigilancia.services.texts.cases import status_name
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        for c in cases:
            parse_case_id(c)  # a wrong code is refused before the workspace is opened
        who = actor_name(by)
        with open_workspace(workspace, settings) as store:
            return assign_cases(store, cases, assignee=to, actor=who)

    for c in run_reported(go):
        out.print(f"{c.code}: {status_name(c.status)}", highlight=False)


@cases_app.command("update")
def cases_update(
    workspace: Workspace,
    case: Annotated[str, typer.Argument(help=N_("Case code (C-0042) or number."))],
    status: Annotated[
        str | None, typer.Option("--status", help=N_("New status: in_field, reported, closed, "
                                 "dismissed, new (reopen)... (or the Spanish codes)."))
    ] = None,
    verdict: Annotated[
        str | None, typer.Option("--verdict", help=N_("What the visit found: coca_confirmed, "
                                 "airstrip_confirmed, mining, logging, road, agriculture, "
                                 "natural_cause, false_alarm, not_reached (or the Spanish "
                                 "codes)."))
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help=N_("A note for the history."))] = None,
    observed: Annotated[
        str | None, typer.Option("--observed", help=N_("Date of the visit (YYYY-MM-DD)."))
    ] = None,
    by: ByOption = None,
) -> None:
    """Change a case's status, record its verdict or add a note; every change goes to its history.

    A verdict verifies the case and labels its clearings for the driver
    classifier ("not_reached" hands the case back for the next patrol).

    Example: vigilancia cases update ws C-0042 --verdict coca_confirmada --note "3 ha, plantones"
    """
    from vigilancia.services.cases import parse_case_id, parse_status, parse_verdict, update_case
    from vigilancia.services.texts.cases import status_name, verdict_name
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        cid = parse_case_id(case)
        new_status = None if status is None else parse_status(status)
        new_verdict = None if verdict is None else parse_verdict(verdict)
        with open_workspace(workspace, settings) as store:
            return update_case(store, cid, actor=actor_name(by), status=new_status,
                               verdict=new_verdict, note=note,
                               observed_at=parse_date(observed, "--observed"))

    c = run_reported(go)
    text = f"{c.code}: {status_name(c.status)}"
    if c.verdict is not None:
        text += f" ({verdict_name(c.verdict)})"
    out.print(text, highlight=False)

