"""Progress of long work: one callback shape for io and services, shown by each shell.

Long work (an ingest, a download page by page, a package) reports how far it is
through a :class:`Progress`: ``progress(stage, done, total)``.

- ``stage`` names the step as an English message id (``"Opening cases"``,
  ``"Downloading the layer"``); the shell translates it (:func:`vigilancia.i18n._`)
  when it shows it, so io and services never word it for a person;
- ``done`` counts the units finished so far (rows, features, files, steps);
- ``total`` is the units expected, or None while nobody knows (a server that does
  not say how many features it holds).

A stage's ``done`` only grows, and the last call of a stage has ``done == total``
when the total is known. Each shell draws it its own way: a rich bar in the CLI,
a progress event in the web app.

>>> seen = []
>>> def record(stage: str, done: int, total: int | None) -> None:
...     seen.append((stage, done, total))
>>> report: Progress = record
>>> report("Downloading the layer", 1000, None); seen
[('Downloading the layer', 1000, None)]
>>> no_progress("Opening cases", 3, 10)
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Progress", "no_progress"]


class Progress(Protocol):
    """``progress(stage, done, total)``: how far the work of ``stage`` is (see the module)."""

    def __call__(self, stage: str, done: int, total: int | None, /) -> None: ...


def no_progress(stage: str, done: int, total: int | None, /) -> None:
    """A :class:`Progress` that shows nothing (the default of every long call)."""
