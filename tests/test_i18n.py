"""Every message a person reads has a Spanish translation with the same placeholders."""

import ast
import string
from pathlib import Path

import vigilancia
from vigilancia.i18n import _, set_language, translations

SRC = Path(vigilancia.__file__).parent


def message_ids():
    ids = {}
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "_"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                ids.setdefault(node.args[0].value, f"{path.relative_to(SRC)}:{node.lineno}")
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


def test_spanish_is_the_default_and_english_available():
    set_language("es")
    assert _("{n} clearings", n=3) == "3 claros"
    set_language("en")
    assert _("{n} clearings", n=3) == "3 clearings"
    set_language("es")
