"""One error hierarchy for the whole system.

Every error carries text for a person (``message``, already in the user's
language), an optional ``hint`` that says how to fix it, and the ``source``
(file, URL, row or feature) it is about. Log detail stays in the exception
chain (``raise ... from exc``), never in the user text. Shells map the class to
an exit code or HTTP status in one place: :data:`HTTP_STATUS`.
"""

from __future__ import annotations


class VigilanciaError(Exception):
    """Base of every error vigilancia raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None, source: str | None = None):
        self.message = message
        self.hint = hint
        self.source = source
        super().__init__(self.user_text())

    def user_text(self) -> str:
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


HTTP_STATUS: dict[type[VigilanciaError], int] = {
    InputError: 400,
    DataFormatError: 422,
    UnreadableFileError: 400,
    NotFoundError: 404,
    ConflictError: 409,
    AccessDenied: 403,
    StoreError: 503,
    VigilanciaError: 500,
}


def http_status(error: VigilanciaError) -> int:
    """HTTP status for an error: the entry of its most specific class."""
    for cls in type(error).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500
