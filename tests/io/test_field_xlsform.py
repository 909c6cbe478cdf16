"""The shipped verification-visit XLSForm: the committed file equals its definition, converts
with pyxform, and its verdict answers map to the case verdicts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vigilancia.domain.field import VERDICTS, Verdict
from vigilancia.io.field.xlsform import (
    CHOICES,
    LANGUAGES,
    SURVEY,
    read_xlsform_rows,
    sheet_rows,
    verdict_from_answer,
    write_xlsform,
    xlsform_path,
)

ROOT = Path(__file__).resolve().parents[2]


def test_committed_form_equals_the_definition():
    path = xlsform_path()
    assert path.is_file(), "run scripts/build_xlsform.py and commit the form"
    assert read_xlsform_rows(path) == sheet_rows(), (
        "the committed form differs from vigilancia.io.field.xlsform: "
        "run scripts/build_xlsform.py and commit the result"
    )


def test_build_script_writes_the_same_form(tmp_path):
    out = tmp_path / "form.xlsx"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_xlsform.py"), str(out)],
                   check=True, capture_output=True)
    assert read_xlsform_rows(out) == read_xlsform_rows(xlsform_path())


def test_form_is_bilingual_and_asks_what_the_issue_asks():
    names = {row["name"]: row for row in SURVEY}
    for name in ("case_id", "arrival_location", "arrival_time", "reached", "verdict", "photo_1",
                 "notes", "approach_with_care"):
        assert name in names, name
    assert names["arrival_location"]["type"] == "geopoint"
    assert names["case_id"]["type"].startswith("select_one_from_file ")
    for row in SURVEY + CHOICES:
        if any(k.startswith("label::") for k in row):
            for lang in LANGUAGES:
                assert row[f"label::{lang}"], (row, lang)


def test_verdict_choices_are_exactly_the_case_verdicts():
    choices = [c["name"] for c in CHOICES if c["list_name"] == "verdict"]
    assert choices == [v.value for v in VERDICTS]
    assert set(choices) == {"coca_confirmed", "airstrip_confirmed", "mining", "logging", "road",
                            "agriculture", "natural_cause", "false_alarm", "not_reached"}


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [("coca_confirmed", Verdict.COCA_CONFIRMED), ("Coca confirmada", Verdict.COCA_CONFIRMED),
     ("  MINERÍA ", Verdict.MINING), ("mineria", Verdict.MINING),
     ("Not reached", Verdict.NOT_REACHED), ("Falsa alarma", Verdict.FALSE_ALARM)],
)
def test_answers_map_to_verdicts(answer, verdict):
    assert verdict_from_answer(answer) is verdict


def test_empty_and_wrong_answers():
    assert verdict_from_answer("") is None and verdict_from_answer(None) is None
    with pytest.raises(ValueError):
        verdict_from_answer("tal vez")


def test_pyxform_converts_the_form(tmp_path):
    from pyxform.xls2xform import convert

    form = write_xlsform(tmp_path / "visita.xlsx")
    result = convert(xlsform=str(form), validate=False)
    xform = result.xform
    assert 'lang="Español (es)"' in xform and 'lang="English (en)"' in xform
    assert "jr://file-csv/casos.csv" in xform
    for v in VERDICTS:
        assert f"<value>{v.value}</value>" in xform or f">{v.value}<" in xform
