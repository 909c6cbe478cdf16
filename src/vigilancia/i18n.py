"""Translations for everything a person reads.

Message ids are English; catalogs live in ``locale/<lang>/LC_MESSAGES/*.po`` (every
``.po`` file of that folder, merged, so that a feature area may keep its own catalog
file) and are read directly with Babel (no compile step). Spanish is the default.
Placeholders are named: ``_("Written: {path}", path="casos.gpx")``.

The language belongs to the call, not to the process: it is kept in a
:class:`~contextvars.ContextVar`. A shell sets it once at start-up
(:func:`set_language`); a web request, or a service that renders the same text in
several languages, renders inside ``with language("en"): ...``, which sets it for the
block and restores it afterwards. Two threads (two requests) never see each other's
language. A thread started with :mod:`threading` or a
:class:`~concurrent.futures.ThreadPoolExecutor` starts with an empty context, hence in
Spanish: work that produces user text in a worker thread runs in a copy of the
caller's context (``pool.submit(contextvars.copy_context().run, fn, ...)``).

A sentence that counts something goes through :func:`ngettext`, which picks the
singular or the plural form by the count ``n`` (also the ``{n}`` placeholder, written
with :func:`number`); the catalog holds such a message as a gettext plural entry
(``msgid_plural``, ``msgstr[0]``, ``msgstr[1]``).

Every number a person reads goes through :func:`number` (Babel), so that separators
are the language's everywhere: ``1.234,5`` in Spanish, ``1,234.5`` in English.
Coordinates are the exception: they keep a decimal point, as GPS units, GIS and the
``--start`` option write them.

>>> set_language("en"); _("Written: {path}", path="casos.gpx")
'Written: casos.gpx'
>>> ngettext("{n} clearing", "{n} clearings", 1), ngettext("{n} clearing", "{n} clearings", 3)
('1 clearing', '3 clearings')
>>> set_language("es"); ngettext("{n} clearing", "{n} clearings", 1)
'1 claro'
>>> ngettext("{n} clearing", "{n} clearings", 1_250)
'1.250 claros'
>>> number(1234.56, 1), number(0.5, 2), number(float("nan"))
('1.234,6', '0,5', '?')
>>> with language("en"):
...     _("Written: {path}", path="casos.gpx")
'Written: casos.gpx'
>>> get_language()
'es'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import NamedTuple

DEFAULT_LANGUAGE = "es"
SUPPORTED = ("es", "en")

#: The language of the current call (thread, task or ``with language(...)`` block).
_current: ContextVar[str] = ContextVar("vigilancia_language", default=DEFAULT_LANGUAGE)


class _Catalog(NamedTuple):
    messages: dict[str, str]  # msgid -> text
    plurals: dict[tuple[str, str], tuple[str, ...]]  # (singular, plural) -> forms


@cache
def _catalog(lang: str) -> _Catalog:
    if lang == "en":
        return _Catalog({}, {})
    return read_catalogs(_catalog_files(lang), lang)


def read_catalogs(files: Iterable[Traversable | Path], lang: str) -> _Catalog:
    """The entries of ``files`` (``.po``), merged in the order given: a later file's entry
    wins over an earlier one with the same id. Fuzzy and untranslated entries are left out."""
    from babel.messages.pofile import read_po

    messages: dict[str, str] = {}
    plurals: dict[tuple[str, str], tuple[str, ...]] = {}
    for ref in files:
        with ref.open("rb") as fh:
            cat = read_po(fh, locale=lang)
        for m in cat:
            if not m.id or m.fuzzy:
                continue
            if isinstance(m.id, tuple):  # a plural entry: (msgid, msgid_plural), forms in order
                forms = tuple(str(s) for s in m.string or ())
                if len(m.id) == 2 and forms and all(forms):
                    plurals[(str(m.id[0]), str(m.id[1]))] = forms
            elif m.string:
                messages[str(m.id)] = str(m.string)
    return _Catalog(messages, plurals)


def _catalog_files(lang: str) -> list[Traversable]:
    """The ``.po`` files of ``lang``, in name order (a later file's entry wins over an
    earlier file's entry with the same id)."""
    folder = resources.files("vigilancia") / "locale" / lang / "LC_MESSAGES"
    if not folder.is_dir():
        return []
    return sorted((f for f in folder.iterdir() if f.name.endswith(".po") and f.is_file()),
                  key=lambda f: f.name)


def _plural_index(n: float) -> int:
    """Which form ``n`` takes: Spanish and English both have one form for 1 and one for
    every other number (gettext ``plural=(n != 1)``)."""
    return 0 if n == 1 else 1


def _normalise(lang: str | None) -> str:
    return (lang or DEFAULT_LANGUAGE).split("_")[0].split("-")[0].lower()


def set_language(lang: str) -> None:
    """Choose the language of user text (``es`` or ``en``; others fall back to English ids)
    for the rest of the current context: a shell's start-up. A service or a request uses
    :func:`language` instead."""
    _current.set(_normalise(lang))


def get_language() -> str:
    """The language of user text in the current context (``es`` by default)."""
    return _current.get()


@contextmanager
def language(lang: str) -> Iterator[str]:
    """Render user text in ``lang`` inside the block; the language before it comes back after.

    Only the current context changes: other threads and requests keep their own.

    >>> with language("en-GB") as lang:
    ...     lang, ngettext("{n} clearing", "{n} clearings", 2)
    ('en', '2 clearings')
    """
    token = _current.set(_normalise(lang))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def _(msgid: str, /, **params: object) -> str:
    """Translate ``msgid`` into the current language and fill its named placeholders."""
    text = _catalog(_current.get()).messages.get(msgid, msgid)
    return text.format(**params) if params else text


def N_(msgid: str, /) -> str:  # noqa: N802 (the gettext name for a marker)
    """Mark ``msgid`` as a message id translated later, when the language is known (help
    texts read at import, translated when drawn; see :mod:`vigilancia.cli.base`): returns
    it unchanged. ``tests/test_i18n.py`` checks that every marked id has a translation."""
    return msgid


def plural_forms(singular: str, plural: str) -> tuple[str, ...]:
    """The forms of a counted message in the current language, placeholders left as they
    are (singular first); the English ids when the catalog lacks it."""
    return _catalog(_current.get()).plurals.get((singular, plural), (singular, plural))


def ngettext(singular: str, plural: str, n: float, /, **params: object) -> str:
    """The form of a counted message for ``n`` in the current language, placeholders filled.

    ``n`` chooses the form and fills ``{n}`` (written by :func:`number`); pass ``n=`` as
    a keyword too to show the count written otherwise. An id missing from the catalog
    falls back to ``singular`` or ``plural``.
    """
    forms = plural_forms(singular, plural)
    text = forms[min(_plural_index(n), len(forms) - 1)]
    return text.format(**{"n": number(n, 2), **params})


#: Babel locale of each language's numbers (Spanish: ``1.234,5``).
_NUMBER_LOCALES = {"es": "es", "en": "en"}


def number(value: object, digits: int = 0) -> str:
    """``value`` with the separators of the current language and at most ``digits``
    decimals (trailing zeros dropped); "?" when it is not a finite number.

    >>> with language("en"):
    ...     number(1234.5, 1), number(12, 2)
    ('1,234.5', '12')
    """
    import math

    from babel.numbers import format_decimal

    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "?"
    if not math.isfinite(x):
        return "?"
    pattern = "#,##0" + ("." + "#" * digits if digits > 0 else "")
    locale = _NUMBER_LOCALES.get(_current.get(), _NUMBER_LOCALES[DEFAULT_LANGUAGE])
    text = str(format_decimal(x, format=pattern, locale=locale))
    return "0" if text in ("-0", "−0") else text


def percent(share: object, digits: int = 0) -> str:
    """``share`` (0..1) as a percentage in the current language: ``45 %`` in Spanish,
    ``45%`` in English; "?" when it is not a finite number.

    >>> percent(0.4512, 1), percent(None)
    ('45,1 %', '?')
    """
    try:
        value = 100 * float(share)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "?"
    text = number(value, digits)
    if text == "?":
        return text
    return f"{text}%" if _current.get() == "en" else f"{text} %"


def translations(lang: str) -> dict[str, str]:
    """The whole catalog of ``lang`` (msgid -> text); used by tests and templates."""
    return dict(_catalog(lang).messages)


def plural_translations(lang: str) -> dict[tuple[str, str], tuple[str, ...]]:
    """The counted messages of ``lang``: (singular, plural) msgid -> forms, singular first."""
    return dict(_catalog(lang).plurals)
