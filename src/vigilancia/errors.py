"""One error hierarchy for the whole system.

Every error carries text for a person (``message``, already in the user's
language), an optional ``hint`` that says how to fix it, and the ``source``
(file, URL, row or feature) it is about. Log detail stays in the exception
chain (``raise ... from exc``), never in the user text. Shells map the class to
an exit code or HTTP status in one place: :data:`HTTP_STATUS`.

The text is the same for every shell: it names no command-line flag, command or
form field. A hint names the fix in plain words ("give another name, or replace
it"); what the fix is about travels as data, and each shell words it its own way:

- ``inputs``: the inputs of the failed request the error is about, by the name of
  the service's parameter (``"overwrite"``, ``"verdict"``, ``"max_km"``). The CLI
  shows the option (``--overwrite``), the web app marks the form field.
- ``actions``: other actions that fix it, as :class:`Action` (``Action("cases.open",
  (("territory", "CN Alfa"),))``, or ``action("cases.open", territory="CN Alfa")``).
  The CLI shows the command (``vigilancia cases open WORKSPACE --territory "CN Alfa"``),
  the web app a link to the page that does it.

The CLI's tables of options and commands live in :mod:`vigilancia.cli.common`.

>>> err = ConflictError("paquete.zip already exists", hint="give another name, or replace it",
...                     inputs="overwrite")
>>> err.user_text(), err.inputs
('paquete.zip already exists (give another name, or replace it)', ('overwrite',))
>>> NotFoundError("no open cases", actions=action("cases.open", territory="CN Alfa")).actions
(Action(name='cases.open', inputs=(('territory', 'CN Alfa'),)),)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "HTTP_STATUS",
    "AccessDenied",
    "Action",
    "ConflictError",
    "DataFormatError",
    "InputError",
    "NotAuthenticated",
    "NotFoundError",
    "StoreError",
    "TooManyAttempts",
    "UnreadableFileError",
    "VigilanciaError",
    "action",
    "http_status",
]


@dataclass(frozen=True)
class Action:
    """An action that fixes an error, named the same for every shell.

    ``name``: the use case, as ``group.verb`` (``"cases.open"``, ``"territories.list"``,
    ``"labels.import"``) or one word for a top-level action (``"monitor"``, ``"routes"``);
    ``inputs``: the values it would take, as ``(input name, value)`` pairs, in order.
    """

    name: str
    inputs: tuple[tuple[str, str], ...] = ()


def action(name: str, /, **inputs: object) -> Action:
    """An :class:`Action` from keyword inputs (values as text), e.g.
    ``action("layers.import", kind="settlement")``."""
    return Action(name, tuple((key, str(value)) for key, value in inputs.items()))


class VigilanciaError(Exception):
    """Base of every error vigilancia raises on purpose.

    ``inputs`` (one name or several) and ``actions`` (one or several) point at what the
    fix is about; see the module text.
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        source: str | None = None,
        inputs: str | Iterable[str] = (),
        actions: Action | Iterable[Action] = (),
    ):
        self.message = message
        self.hint = hint
        self.source = source
        self.inputs: tuple[str, ...] = (inputs,) if isinstance(inputs, str) else tuple(inputs)
        self.actions: tuple[Action, ...] = (
            (actions,) if isinstance(actions, Action) else tuple(actions)
        )
        super().__init__(self.user_text())

    def user_text(self) -> str:
        """``source: message (hint)``: the text every shell shows, without shell wording."""
        parts = []
        if self.source:
            parts.append(f"{self.source}: ")
        parts.append(self.message)
        if self.hint:
            parts.append(f" ({self.hint})")
        return "".join(parts)


class InputError(VigilanciaError, ValueError):
    """A file, value or option given by the user is wrong."""

    exit_code = 2


class DataFormatError(InputError):
    """A file can be opened but its content breaks the format or product encoding."""


class UnreadableFileError(VigilanciaError, OSError):
    """A file or URL is missing, empty, truncated or not of the expected kind."""

    exit_code = 2


class NotFoundError(VigilanciaError, LookupError):
    """A workspace, territory or record does not exist."""

    exit_code = 3


class ConflictError(VigilanciaError):
    """The request clashes with what is stored (e.g. a workspace that already exists)."""

    exit_code = 4


class StoreError(VigilanciaError, OSError):
    """The workspace database could not be read or written."""

    exit_code = 5


class AccessDenied(VigilanciaError, PermissionError):
    """The caller's role does not allow this action."""

    exit_code = 6


class NotAuthenticated(VigilanciaError, PermissionError):
    """The caller is not logged in, or gave a wrong name or password."""

    exit_code = 6


class TooManyAttempts(VigilanciaError):
    """Too many failed attempts in a short time (logins): the caller must wait."""

    exit_code = 6


HTTP_STATUS: dict[type[VigilanciaError], int] = {
    InputError: 400,
    DataFormatError: 422,
    UnreadableFileError: 400,
    NotFoundError: 404,
    ConflictError: 409,
    AccessDenied: 403,
    NotAuthenticated: 401,
    TooManyAttempts: 429,
    StoreError: 503,
    VigilanciaError: 500,
}


def http_status(error: VigilanciaError) -> int:
    """HTTP status for an error: the entry of its most specific class."""
    for cls in type(error).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500
