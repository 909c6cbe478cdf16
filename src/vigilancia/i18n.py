"""Translations for everything a person reads.

Message ids are English; catalogs live in ``locale/<lang>/LC_MESSAGES/vigilancia.po``
and are read directly with Babel (no compile step). Spanish is the default.
Placeholders are named: ``_("{n} clearings", n=3)``.

>>> set_language("en"); _("{n} clearings", n=3)
'3 clearings'
"""

from __future__ import annotations

from functools import cache
from importlib import resources

DEFAULT_LANGUAGE = "es"
SUPPORTED = ("es", "en")

_current = DEFAULT_LANGUAGE


@cache
def _catalog(lang: str) -> dict[str, str]:
    if lang == "en":
        return {}
    from babel.messages.pofile import read_po

    ref = resources.files("vigilancia") / "locale" / lang / "LC_MESSAGES" / "vigilancia.po"
    if not ref.is_file():
        return {}
    with ref.open("rb") as fh:
        cat = read_po(fh, locale=lang)
    return {str(m.id): str(m.string) for m in cat if m.id and m.string and not m.fuzzy}


def set_language(lang: str) -> None:
    """Choose the language of user text (``es`` or ``en``; others fall back to English ids)."""
    global _current
    _current = (lang or DEFAULT_LANGUAGE).split("_")[0].split("-")[0].lower()


def get_language() -> str:
    return _current


def _(msgid: str, /, **params: object) -> str:
    """Translate ``msgid`` into the current language and fill its named placeholders."""
    text = _catalog(_current).get(msgid, msgid)
    return text.format(**params) if params else text


def translations(lang: str) -> dict[str, str]:
    """The whole catalog of ``lang`` (msgid -> text); used by tests and templates."""
    return dict(_catalog(lang))
