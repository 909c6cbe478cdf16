"""Every message a person reads has a Spanish translation with the same placeholders."""

import ast
import string
import threading
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from pathlib import Path

import vigilancia
from vigilancia.i18n import (
    _,
    get_language,
    language,
    ngettext,
    plural_translations,
    set_language,
    translations,
)

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


def marked_ids():
    """Ids marked with ``N_`` (translated later, e.g. help texts): each paragraph of the
    text is one id, as :mod:`vigilancia.cli.base` translates help; an ``Example:``
    paragraph is a command, not an id. ``N_`` takes only string literals."""
    from vigilancia.cli.base import EXAMPLE, help_id, help_paragraphs

    ids, not_literal = {}, []
    for node, where in calls("N_"):
        text = literal(node.args[0]) if len(node.args) == 1 else None
        if text is None:
            not_literal.append(where)
            continue
        for paragraph in help_paragraphs(text):
            key = help_id(paragraph)
            if not key.startswith(EXAMPLE):
                ids.setdefault(key, where)
    assert not not_literal, f"N_ takes one string literal: {not_literal}"
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


def test_every_marked_message_has_a_spanish_translation():
    es = translations("es")
    ids = marked_ids()
    assert "Workspace folder." in ids  # the CLI's help is marked
    missing = {m: where for m, where in ids.items() if m not in es}
    assert not missing, "\n".join(f"{w}: {m!r}" for m, w in sorted(missing.items()))
    wrong = [m for m in ids if fields(m) != fields(es[m])]
    assert not wrong, wrong


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




# ------------------------------------------------------------------ language per call


def _risk_score():
    from vigilancia.domain.risk import Factor, FactorValue, score_unit

    return score_unit("territory:1", "Comunidad X", [
        FactorValue(Factor.RECENT_CLEARINGS, 14.0, "alerts", {"count": 14, "area_ha": 21.5,
        "months": 3}),
        FactorValue(Factor.AIRSTRIPS, 1.2, "layer", {"near": 1, "within_km": 5.0}),
        FactorValue(Factor.TENURE, 1.0, "territories", {"status": "claimed", "overlaps": 0}),
    ], {Factor.RECENT_CLEARINGS: 30.0, Factor.AIRSTRIPS: 30.0, Factor.TENURE: 30.0})


def test_two_threads_render_the_same_result_each_in_its_own_language():
    """Two requests at once, one in Spanish and one in English, render the same risk
    explanation and package case texts; the barrier makes every render overlap."""
    from vigilancia.domain.patrols import CareReason
    from vigilancia.services.package import care_text
    from vigilancia.services.texts.risk import explain

    score = _risk_score()
    care = [CareReason("airstrip", 965.0, "Pista Sur"), CareReason("camp", 1210.0, None)]
    rounds = 40
    barrier = threading.Barrier(2, timeout=30)
    seen: dict[str, list[tuple[str, str]]] = {}
    errors: list[BaseException] = []

    def request(lang: str) -> None:
        try:
            with language(lang):
                texts = []
                for _round in range(rounds):
                    barrier.wait()
                    first = explain(score)
                    barrier.wait()
                    texts.append((first, care_text(care)))
                seen[lang] = texts
        except BaseException as exc:  # surfaced below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=request, args=(lang,)) for lang in ("es", "en")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    es = {"Comunidad X: riesgo crítico (76 pts): territorio sin título, 1 pista a menos de "
          "5 km, 14 claros nuevos (22 ha) en 3 meses"}
    en = {"Comunidad X: critical risk (76 pts): untitled territory, 1 airstrip within 5 km, "
          "14 new clearings (22 ha) in 3 months"}
    assert {" ".join(a.split()) for a, _b in seen["es"]} == es
    assert {" ".join(a.split()) for a, _b in seen["en"]} == en
    assert {b for _a, b in seen["es"]} == {"pista conocida a 960 m, campamento a 1.210 m"}
    assert {b for _a, b in seen["en"]} == {"known airstrip at 960 m, camp at 1,210 m"}
    assert get_language() == "es"  # the caller's language never moved


def test_rendering_both_languages_does_not_switch_another_thread():
    """The package renders its ODK labels in Spanish and in English; a request rendering
    Spanish at the same moment keeps Spanish throughout."""
    from vigilancia.services.package import _in_languages
    from vigilancia.services.texts.risk import explain

    score = _risk_score()
    barrier = threading.Barrier(2, timeout=30)
    other: list[str] = []

    def make() -> str:
        barrier.wait()  # the other thread renders while this one is in es, then in en
        text = explain(score)
        barrier.wait()
        return text

    def spanish_request() -> None:
        for _round in range(2):
            barrier.wait()
            other.append(explain(score))
            barrier.wait()

    thread = threading.Thread(target=spanish_request)
    with language("en"):
        thread.start()
        both = _in_languages(make)
        assert get_language() == "en"
    thread.join(60)
    assert "riesgo crítico" in both["es"] and "critical risk" in both["en"]
    assert len(other) == 2 and all("riesgo crítico" in t for t in other)


def test_worker_threads_start_in_spanish_unless_they_copy_the_context():
    """Python starts a pool's thread with an empty context: work that words text for the
    caller runs in a copy of the caller's context."""
    with language("en"), ThreadPoolExecutor(1) as pool:
        bare = pool.submit(_, "Written: {path}", path="a").result()
        copied = pool.submit(copy_context().run, _, "Written: {path}", path="a").result()
    assert (bare, copied) == ("Escrito: a", "Written: a")


def test_language_block_restores_the_language_before_it():
    set_language("en")
    with language("es"):
        assert _("Written: {path}", path="a") == "Escrito: a"
        with language("en_US") as lang:
            assert lang == "en" and get_language() == "en"
        assert get_language() == "es"
    assert get_language() == "en"
    set_language("es")


def test_every_po_file_of_a_language_is_read_and_merged(tmp_path):
    from vigilancia.i18n import read_catalogs

    head = ('msgid ""\nmsgstr ""\n"Language: es\\n"\n'
            '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n'
            '"Content-Type: text/plain; charset=UTF-8\\n"\n\n')
    (tmp_path / "a.po").write_text(
        head + 'msgid "river"\nmsgstr "río"\n\nmsgid "road"\nmsgstr "carretera"\n\n'
        'msgid "{n} trail"\nmsgid_plural "{n} trails"\nmsgstr[0] "{n} trocha"\n'
        'msgstr[1] "{n} trochas"\n', encoding="utf-8")
    (tmp_path / "b.po").write_text(
        head + 'msgid "road"\nmsgstr "camino"\n\nmsgid "camp"\nmsgstr "campamento"\n',
        encoding="utf-8")
    cat = read_catalogs([tmp_path / "a.po", tmp_path / "b.po"], "es")
    assert cat.messages == {"river": "río", "road": "camino", "camp": "campamento"}
    assert cat.plurals == {("{n} trail", "{n} trails"): ("{n} trocha", "{n} trochas")}
