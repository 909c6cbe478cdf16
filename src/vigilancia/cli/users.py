"""``vigilancia users``: the accounts of the web app (``vigilancia serve``)."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from vigilancia.cli.base import App
from vigilancia.cli.common import (
    Workspace,
    actor_name,
    out,
    print_json,
    run_reported,
    settings_from_env,
)
from vigilancia.errors import InputError
from vigilancia.i18n import N_, _, ngettext

users_app = App(
    help=N_("Accounts of the web app: add, list, disable.")
    + "\n\nExample: vigilancia users add ws ana --role coordinator",
    no_args_is_help=True,
)

ROLES = "admin, coordinator, monitor, analyst, viewer"


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    if not sys.stdin.isatty():
        raise InputError(_("There is no terminal to type the password in"),
                         hint=_("give it on standard input instead"), inputs="password_stdin")
    first = getpass.getpass(_("Password: "))
    second = getpass.getpass(_("The password again: "))
    if first != second:
        raise InputError(_("The two passwords differ: nothing was changed"))
    return first


@users_app.command("add")
def users_add(
    workspace: Workspace,
    name: Annotated[str, typer.Argument(help=N_("The account's name (what is typed to "
                                                "log in)."))],
    role: Annotated[str, typer.Option("--role", help=N_(
        "What the account may do: admin, coordinator, monitor, analyst, viewer."))],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin",
                           help=N_("Read the password from standard input (one line) "
                                   "instead of asking for it twice on the terminal."))
    ] = False,
) -> None:
    """Add an account. The password is asked twice on the terminal (or read from standard
    input) and only its Argon2id hash is kept.

    Roles: admin (accounts, everything), coordinator (cases, assignments, patrol plans,
    field data), monitor (field data, case status and verdicts), analyst (reads all but
    monitors' names and exact field points), viewer (reads the map, cases and reports).

    Example: vigilancia users add ws ana --role coordinator
    """
    from vigilancia.domain.access import Role
    from vigilancia.services.accounts import add_user
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        try:  # a wrong role is refused before the password is asked
            Role.parse(role)
        except ValueError:
            raise InputError(_("Unknown role {role!r}", role=role),
                             hint=_("use one of: {names}", names=ROLES), inputs="role") from None
        with open_workspace(workspace, settings) as store:
            password = _read_password(password_stdin)
            return add_user(store, name, role, password, actor=actor_name())

    account = run_reported(go)
    out.print(_("Account {name} added ({role})", name=account.name, role=account.role.value),
              highlight=False)


@users_app.command("list")
def users_list(
    workspace: Workspace,
    as_json: Annotated[bool, typer.Option("--json", help=N_("Print the accounts as JSON."))
                       ] = False,
) -> None:
    """List the accounts: name, role, whether they may log in, when and by whom made.

    Example: vigilancia users list ws
    """
    from vigilancia.services.accounts import list_users
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        with open_workspace(workspace, settings) as store:
            return list_users(store)

    accounts = run_reported(go)
    if as_json:
        print_json(accounts)
        return
    table = Table(title=ngettext("{n} account", "{n} accounts", len(accounts)))
    for col in (_("Name"), _("Role"), _("Active"), _("Created"), _("By")):
        table.add_column(col)
    for a in accounts:
        table.add_row(a.name, a.role.value, _("yes") if a.active else _("no"),
                      a.created_at.strftime("%Y-%m-%d %H:%M"), a.created_by)
    out.print(table)


@users_app.command("disable")
def users_disable(
    workspace: Workspace,
    name: Annotated[str, typer.Argument(help=N_("The account to disable."))],
) -> None:
    """Stop an account from logging in and end its open sessions (its history stays).

    Example: vigilancia users disable ws ana
    """
    from vigilancia.services.accounts import disable_user
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        with open_workspace(workspace, settings) as store:
            return disable_user(store, name, actor=actor_name())

    account = run_reported(go)
    out.print(_("Account {name} disabled", name=account.name), highlight=False)
