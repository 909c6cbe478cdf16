"""Translations for everything a person reads.

Message ids are English; catalogs live in ``locale/<lang>/LC_MESSAGES/vigilancia.po``
and are read directly with Babel (no compile step). Spanish is the default.
Placeholders are named: ``_("Written: {path}", path="casos.gpx")``.

A sentence that counts something goes through :func:`ngettext`, which picks the
singular or the plural form by the count ``n`` (also the ``{n}`` placeholder); the
catalog holds such a message as a gettext plural entry (``msgid_plural``,
``msgstr[0]``, ``msgstr[1]``).

>>> set_language("en"); _("Written: {path}", path="casos.gpx")
'Written: casos.gpx'
>>> ngettext("{n} clearing", "{n} clearings", 1), ngettext("{n} clearing", "{n} clearings", 3)
('1 clearing', '3 clearings')
>>> set_language("es"); ngettext("{n} clearing", "{n} clearings", 1)
'1 claro'
>>> ngettext("{n} clearing", "{n} clearings", 1_250, n="1.250")
'1.250 claros'
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import NamedTuple

DEFAULT_LANGUAGE = "es"
SUPPORTED = ("es", "en")

_current = DEFAULT_LANGUAGE


class _Catalog(NamedTuple):
    messages: dict[str, str]  # msgid -> text
    plurals: dict[tuple[str, str], tuple[str, ...]]  # (singular, plural) -> forms


@cache
def _catalog(lang: str) -> _Catalog:
    messages: dict[str, str] = {}
    plurals: dict[tuple[str, str], tuple[str, ...]] = {}
    if lang == "en":
        return _Catalog(messages, plurals)
    from babel.messages.pofile import read_po

    ref = resources.files("vigilancia") / "locale" / lang / "LC_MESSAGES" / "vigilancia.po"
    if not ref.is_file():
        return _Catalog(messages, plurals)
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


def _plural_index(n: float) -> int:
    """Which form ``n`` takes: Spanish and English both have one form for 1 and one for
    every other number (gettext ``plural=(n != 1)``)."""
    return 0 if n == 1 else 1


def set_language(lang: str) -> None:
    """Choose the language of user text (``es`` or ``en``; others fall back to English ids)."""
    global _current
    _current = (lang or DEFAULT_LANGUAGE).split("_")[0].split("-")[0].lower()


def get_language() -> str:
    return _current


def _(msgid: str, /, **params: object) -> str:
    """Translate ``msgid`` into the current language and fill its named placeholders."""
    text = _catalog(_current).messages.get(msgid, msgid)
    return text.format(**params) if params else text


def ngettext(singular: str, plural: str, n: float, /, **params: object) -> str:
    """The form of a counted message for ``n`` in the current language, placeholders filled.

    ``n`` chooses the form and fills ``{n}``; pass ``n=`` as a keyword too to show the count
    written otherwise (e.g. with the language's separators). An id missing from the catalog
    falls back to ``singular`` or ``plural``.
    """
    forms = _catalog(_current).plurals.get((singular, plural), (singular, plural))
    text = forms[min(_plural_index(n), len(forms) - 1)]
    return text.format(**{"n": n, **params})


def translations(lang: str) -> dict[str, str]:
    """The whole catalog of ``lang`` (msgid -> text); used by tests and templates."""
    return dict(_catalog(lang).messages)


def plural_translations(lang: str) -> dict[tuple[str, str], tuple[str, ...]]:
    """The counted messages of ``lang``: (singular, plural) msgid -> forms, singular first."""
    return dict(_catalog(lang).plurals)
