"""Every message a person reads has a Spanish translation with the same placeholders."""

import ast
import string
from pathlib import Path

import vigilancia
from vigilancia.i18n import _, ngettext, plural_translations, set_language, translations

SRC = Path(vigilancia.__file__).parent


def calls(name):
    """Every call ``name(...)`` in the package: (node, "path:line")."""
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id == name:
                yield node, f"{path.relative_to(SRC)}:{node.lineno}"


def literal(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def message_ids():
    ids = {}
    for node, where in calls("_"):
        if node.args and literal(node.args[0]) is not None:
            ids.setdefault(node.args[0].value, where)
    return ids


def plural_ids():
    """(singular, plural) -> where, for every ``ngettext`` call; its ids must be literals."""
    ids, not_literal = {}, []
    for node, where in calls("ngettext"):
        pair = tuple(literal(a) for a in node.args[:2])
        if len(pair) < 2 or None in pair:
            not_literal.append(where)
        else:
            ids.setdefault(pair, where)
    assert not not_literal, f"ngettext ids must be string literals: {not_literal}"
    return ids


def fields(text):
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_every_message_has_a_spanish_translation():
    es = translations("es")
    missing = {m: where for m, where in message_ids().items() if m not in es}
    assert not missing, "\n".join(f"{w}: {m!r}" for m, w in sorted(missing.items()))


def test_translations_keep_placeholders():
    es = translations("es")
    wrong = [m for m in message_ids() if m in es and fields(m) != fields(es[m])]
    assert not wrong, wrong


def test_every_counted_message_has_a_spanish_plural_entry():
    es = plural_translations("es")
    ids = plural_ids()
    assert ids, "no ngettext call found"
    missing = {p: where for p, where in ids.items() if p not in es}
    assert not missing, "\n".join(f"{w}: {p!r}" for p, w in sorted(missing.items(), key=str))
    short = {p: es[p] for p in ids if len(es[p]) != 2 or not all(es[p])}
    assert not short, short


def test_plural_translations_keep_placeholders():
    es = plural_translations("es")
    wrong = [
        (pair, es[pair]) for pair in plural_ids() if pair in es
        and [fields(f) for f in es[pair]] != [fields(pair[0]), fields(pair[1])]
    ]
    assert not wrong, wrong


def test_plural_form_follows_the_count():
    airstrips = ("{n} airstrip within {km} km", "{n} airstrips within {km} km")
    assert airstrips in plural_ids()
    try:
        set_language("es")
        assert ngettext(*airstrips, 1, km=5) == "1 pista a menos de 5 km"
        assert ngettext(*airstrips, 2, km=5) == "2 pistas a menos de 5 km"
        assert ngettext(*airstrips, 0, km=5) == "0 pistas a menos de 5 km"
        # n= as a keyword shows the count written otherwise; the count still picks the form
        assert ngettext(*airstrips, 1200, n="1.200", km=5) == "1.200 pistas a menos de 5 km"
        set_language("en")
        assert ngettext(*airstrips, 1, km=5) == "1 airstrip within 5 km"
        assert ngettext(*airstrips, 2, km=5) == "2 airstrips within 5 km"
    finally:
        set_language("es")


def test_unknown_plural_message_falls_back_to_the_english_forms():
    try:
        set_language("es")
        assert ngettext("{n} unheard-of thing", "{n} unheard-of things", 1) == "1 unheard-of thing"
        assert ngettext("{n} unheard-of thing", "{n} unheard-of things", 3) == "3 unheard-of things"
        set_language("fr")
        assert ngettext("{n} airstrip within {km} km", "{n} airstrips within {km} km", 2,
                        km=5) == "2 airstrips within 5 km"
    finally:
        set_language("es")


def test_plural_entries_stay_out_of_the_plain_catalog():
    es = translations("es")
    for singular, plural in plural_translations("es"):
        assert singular not in es and str((singular, plural)) not in es


def test_spanish_is_the_default_and_english_available():
    set_language("es")
    assert _("Written: {path}", path="casos.gpx") == "Escrito: casos.gpx"
    set_language("en")
    assert _("Written: {path}", path="casos.gpx") == "Written: casos.gpx"
    set_language("es")


