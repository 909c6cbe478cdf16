"""Codes are typed in Spanish or English everywhere, and shown in the user's language."""

from __future__ import annotations

import pytest

from vigilancia.domain.cases import CaseStatus
from vigilancia.domain.codes import SPANISH, WORDS, code_in, codes_text, fold, parse_code, word_in
from vigilancia.domain.driver_training import parse_driver
from vigilancia.domain.drivers import Driver
from vigilancia.domain.field import Verdict
from vigilancia.domain.risk import RiskClass
from vigilancia.io.field import verdict_from_answer


@pytest.mark.parametrize("enum", list(SPANISH), ids=lambda e: e.__name__)
def test_every_member_parses_from_both_codes_in_any_case(enum):
    for member in enum:
        es = SPANISH[enum][member]
        assert es.isascii() and es == fold(es), es  # types on any keyboard
        for typed in (member.value, es, es.upper(), es.replace("_", " "), f" {es} "):
            assert parse_code(enum, typed) is member, typed
        assert code_in(member, "es") == es and code_in(member, "en") == member.value
    assert len(set(SPANISH[enum].values())) == len(enum)  # no two members share a code


def test_accents_spaces_and_aliases():
    assert parse_code(Verdict, "Minería") is Verdict.MINING
    assert parse_code(CaseStatus, "En Campo") is CaseStatus.IN_FIELD
    assert parse_code(CaseStatus, "denunciado", {"denunciado": CaseStatus.REPORTED}) \
        is CaseStatus.REPORTED
    assert parse_code(CaseStatus, "") is None and parse_code(CaseStatus, "volando") is None
    assert codes_text([RiskClass.CRITICAL, RiskClass.LOW], "es") == "critico, bajo"
    assert word_in("border_crossing", "es") == "paso_de_frontera"
    assert word_in("whatever", "es") == "whatever" and set(WORDS) >= {"grid", "district"}


def test_drivers_and_verdicts_read_from_label_files_and_forms():
    for driver, es in SPANISH[Driver].items():
        assert parse_driver(es) is driver and parse_driver(es.upper()) is driver
    for verdict, es in SPANISH[Verdict].items():
        assert verdict_from_answer(es) is verdict  # an ODK/CoMapeo answer or tag
        assert verdict_from_answer(es.replace("_", " ")) is verdict
        assert verdict_from_answer(verdict.value) is verdict
