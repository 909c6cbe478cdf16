"""What every command group shares: consoles, settings, error handling, progress, dates,
JSON output.

Errors reach the user through :func:`run_reported`, which words the inputs and actions an
error points at (:mod:`vigilancia.errors`) with the CLI's own options and commands: the
tables :data:`OPTIONS` and :data:`COMMANDS` are the one place where that wording lives.
``--json`` output goes through :func:`print_json` (:mod:`vigilancia.results`).

Command groups live in their own modules (``cli/layers.py``, ``cli/classifier.py``...),
build a ``typer.Typer`` and are registered in ``cli/__init__.py``.
"""

from __future__ import annotations

import getpass
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from vigilancia.config import Settings
from vigilancia.errors import Action, InputError, VigilanciaError
from vigilancia.i18n import N_, _, set_language
from vigilancia.progress import Progress as ProgressCallback
from vigilancia.progress import no_progress
from vigilancia.results import to_json

console = Console(stderr=True)
out = Console()


def settings_from_env() -> Settings:
    settings = Settings()
    set_language(settings.language)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    return settings


def actor_name(by: str | None = None) -> str:
    """Who makes a change, for the histories: ``--by`` if given, else the system user name."""
    if by:
        return by
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "vigilancia"


#: The option of each service input that errors name (``VigilanciaError.inputs``): the one
#: table where the CLI words them. An input missing here shows as ``--name-with-dashes``.
#: The workspace argument of every command that opens one.
Workspace = Annotated[Path, typer.Argument(help=N_("Workspace folder."))]

OPTIONS: dict[str, str] = {
    "allow_unmatched": "--skip-unmatched",
    "as_of": "--as-of",
    # (inputs of the web app's services that no command takes: the web app marks the field,
    # the CLI never shows these; listed so that every input has its wording here)
    "bbox": "--bbox",
    "confidence": "--confidence",
    "driver": "--driver",
    "files": "FILE",
    "limit": "--limit",
    "status": "--status",
    "zoom": "--zoom",
    "role": "--role",
    "imagery": "--imagery",
    "coverage": "--coverage",
    "incidents": "--incidents",
    "key": "--key",
    "kind": "--kind",
    "labels_path": "--labels",
    "lang": "--lang",
    "max_km": "--max-km",
    "max_px": "--max-px",
    "min_confidence": "--min-confidence",
    "server_files": "--alerts",
    "month": "--month",
    "output": "--output",
    "overwrite": "--overwrite",
    "product": "--product",
    "reason": "--reason",
    "since": "--since",
    "start": "--start",
    "territory": "--territory",
    "to": "--to",
    "unit": "--unit",
    "until": "--until",
    "utc_offset": "--utc-offset",
    "verdict": "--verdict",
}

#: The command of each action that errors name (``VigilanciaError.actions``): its words
#: (``WORKSPACE`` and ``FILE`` are placeholders, shown in the user's language) and the
#: inputs given as arguments, in order; the action's other inputs become options.
COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "aoi.show": ("aoi show WORKSPACE", ()),
    "cases.list": ("cases list WORKSPACE", ()),
    "cases.open": ("cases open WORKSPACE", ()),
    "cases.show": ("cases show WORKSPACE", ("case",)),
    "classifier.status": ("classifier status WORKSPACE", ()),
    "classifier.train": ("classifier train WORKSPACE", ()),
    "clearings.export": ("clearings export WORKSPACE --output FILE", ()),
    "evidence.verify": ("evidence verify WORKSPACE", ()),
    "labels.import": ("labels import WORKSPACE FILE", ()),
    "layers.import": ("layers import WORKSPACE FILE", ()),
    "layers.list": ("layers list WORKSPACE", ()),
    "monitor": ("monitor WORKSPACE --alerts FILE", ()),
    "routes": ("routes WORKSPACE", ()),
    "territories.import": ("territories import WORKSPACE FILE", ()),
    "territories.list": ("territories list WORKSPACE", ()),
    "users.list": ("users list WORKSPACE", ()),
}


def _placeholders() -> dict[str, str]:
    return {"WORKSPACE": _("WORKSPACE"), "FILE": _("FILE")}


def _argument(value: str) -> str:
    """A value as typed in a shell: quoted when it holds spaces or quotes."""
    if value and not any(c.isspace() or c in "\"'$`;&|<>()" for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def option_text(name: str, value: str | None = None) -> str:
    """The CLI option of a service input, with its value: ``--territory "CN Alfa"``.

    >>> option_text("max_km"), option_text("start", "-74.95,-9.47")
    ('--max-km', '--start=-74.95,-9.47')
    """
    flag = OPTIONS.get(name, "--" + name.replace("_", "-"))
    if value is None:
        return flag
    return f"{flag}={value}" if value.startswith("-") else f"{flag} {_argument(value)}"


def command_text(action: Action) -> str:
    """The CLI command that does ``action``: ``vigilancia cases open ESPACIO --territory X``."""
    words, positional = COMMANDS.get(
        action.name, (action.name.replace(".", " ") + " WORKSPACE", ()))
    names = _placeholders()
    parts = ["vigilancia", *(names.get(w, w) for w in words.split())]
    inputs = dict(action.inputs)
    parts += [_argument(inputs.pop(key)) for key in positional if key in inputs]
    parts += [option_text(key, value) for key, value in inputs.items()]
    return " ".join(parts)


def error_text(exc: VigilanciaError) -> str:
    """An error as the CLI shows it: its text, then the options and commands it points at,
    e.g. ``x.zip already exists (give another name, or replace it) (--overwrite)``."""
    refs = [option_text(name) for name in exc.inputs]
    refs += [command_text(a) for a in exc.actions]
    text = exc.user_text()
    return f"{text} ({'; '.join(refs)})" if refs else text


def run_reported(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except VigilanciaError as exc:
        console.print(
            f"[bold red]{_('Error')}:[/] {escape(error_text(exc))}", highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        console.print(
            _("Interrupted: nothing was saved from the unfinished step; run it again to resume.")
        )
        raise typer.Exit(130) from None


@contextmanager
def progress_bar(enabled: bool) -> Iterator[ProgressCallback]:
    """A :class:`~vigilancia.progress.Progress` drawn as one rich bar per stage (the stage's
    message id translated); nothing when ``enabled`` is false or stderr is no terminal."""
    if not enabled or not console.is_terminal:
        yield no_progress
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def tick(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:  # total None: a bar that pulses until the total is known
                tasks[stage] = bar.add_task(_(stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield tick


def print_json(value: Any) -> None:
    """``value`` (a result, or a list of results) as JSON on stdout, through the one
    encoder of :mod:`vigilancia.results`: plain text for programs, no colours, no wrapping."""
    sys.stdout.write(to_json(value) + "\n")


def parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise InputError(
            _("{option} must be a date as YYYY-MM-DD, not {value!r}", option=option, value=value)
        ) from None
