"""The report templates: every text they show has a Spanish translation with the same
placeholders (tests/test_i18n.py reads the Python code; this reads the templates), every
addressee has a template in each language, and the packaged templates parse."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from vigilancia.i18n import plural_translations, translations
from vigilancia.reports.document import ADDRESSEE_FOLDER, TEMPLATES, environment
from vigilancia.services.case_report import ADDRESSEES

TEMPLATE_FILES = sorted(TEMPLATES.rglob("*.j2"))
SINGLE = re.compile(r"""(?<![\w.])_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")
PLURAL = re.compile(r'ngettext\(\s*"((?:[^"\\]|\\.)*)"\s*,\s*"((?:[^"\\]|\\.)*)"')


def fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_there_are_templates():
    names = {p.name for p in TEMPLATE_FILES}
    assert {"base.html.j2", "case.html.j2", "bulletin.html.j2", "trends.html.j2"} <= names


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: p.name)
def test_template_texts_have_spanish_entries(path: Path):
    es, plurals = translations("es"), plural_translations("es")
    text = path.read_text(encoding="utf-8")
    for m in SINGLE.finditer(text):
        msgid = (m.group(1) if m.group(1) is not None else m.group(2)).replace('\\"', '"')
        assert msgid in es, f"{path.name}: {msgid!r} has no Spanish entry"
        assert fields(msgid) == fields(es[msgid]), msgid
    for m in PLURAL.finditer(text):
        assert (m.group(1), m.group(2)) in plurals, f"{path.name}: {m.group(1)!r}"


@pytest.mark.parametrize("addressee", ADDRESSEES)
def test_each_addressee_has_a_template_per_language(addressee: str):
    env = environment()
    for lang in ("es", "en"):
        name = f"{ADDRESSEE_FOLDER}/{addressee}.{lang}.html.j2"
        module = env.get_template(name).module
        for part in ("salutation", "legal", "signature"):
            assert callable(getattr(module, part, None)), (name, part)


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: p.name)
def test_templates_parse(path: Path):
    env = environment()
    env.parse(path.read_text(encoding="utf-8"))
