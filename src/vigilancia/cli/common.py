"""What every command group shares: consoles, settings, error handling, progress, dates.

Command groups live in their own modules (``cli/layers.py``, ``cli/classifier.py``...),
build a ``typer.Typer`` and are registered in ``cli/__init__.py``.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from vigilancia.config import Settings
from vigilancia.errors import InputError, VigilanciaError
from vigilancia.i18n import _, set_language
from vigilancia.progress import Progress as ProgressCallback
from vigilancia.progress import no_progress

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


def run_reported(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except VigilanciaError as exc:
        console.print(
            f"[bold red]{_('Error')}:[/] {exc.user_text()}", highlight=False, soft_wrap=True
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


def parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise InputError(
            _("{option} must be a date as YYYY-MM-DD, not {value!r}", option=option, value=value)
        ) from None
