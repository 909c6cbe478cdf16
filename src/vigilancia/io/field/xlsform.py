"""The XLSForm of a verification visit, in Spanish and English, and its verdict answers.

The form is defined here, as data (:data:`SURVEY`, :data:`CHOICES`,
:data:`SETTINGS`); ``scripts/build_xlsform.py`` writes it with openpyxl to
``src/vigilancia/forms/visita_verificacion.xlsx`` (shipped with the package:
:func:`xlsform_path`), and a test checks that the committed file says exactly
what this definition says. Upload that file to ODK Central or KoboToolbox, and
attach the entity list ``casos.csv`` of a patrol package.

The ``verdict`` question's choices are the case verdicts
(:class:`vigilancia.domain.field.Verdict`); :func:`verdict_from_answer` maps an
answer to a verdict from its choice name or from its label in either language,
as the ODK and Kobo exports may write either.

>>> verdict_from_answer("Coca confirmada")
<Verdict.COCA_CONFIRMED: 'coca_confirmed'>
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from vigilancia.domain.codes import spanish_codes
from vigilancia.domain.field import Verdict
from vigilancia.i18n import _

__all__ = [
    "CHOICES",
    "FORM_ID",
    "LANGUAGES",
    "SETTINGS",
    "SURVEY",
    "VERDICT_LABELS",
    "sheet_rows",
    "verdict_from_answer",
    "write_xlsform",
    "xlsform_path",
]

FORM_ID = "vigilancia_visita_verificacion"
FORM_FILE = "visita_verificacion.xlsx"
#: The entity list (attached CSV) the case question reads from.
CASES_LIST = "casos.csv"

ES = "Español (es)"
EN = "English (en)"
LANGUAGES = (ES, EN)

#: Verdict labels in Spanish and English, in form order.
VERDICT_LABELS: dict[Verdict, tuple[str, str]] = {
    Verdict.COCA_CONFIRMED: ("Coca confirmada", "Coca confirmed"),
    Verdict.AIRSTRIP_CONFIRMED: ("Pista de aterrizaje confirmada", "Airstrip confirmed"),
    Verdict.MINING: ("Minería", "Mining"),
    Verdict.LOGGING: ("Tala", "Logging"),
    Verdict.ROAD: ("Carretera o trocha", "Road"),
    Verdict.AGRICULTURE: ("Agricultura", "Agriculture"),
    Verdict.NATURAL_CAUSE: ("Causa natural", "Natural cause"),
    Verdict.FALSE_ALARM: ("Falsa alarma", "False alarm"),
    Verdict.NOT_REACHED: ("No se llegó al lugar", "Not reached"),
}


def _q(
    type_: str,
    name: str,
    es: str = "",
    en: str = "",
    *,
    hint: tuple[str, str] = ("", ""),
    constraint_message: tuple[str, str] = ("", ""),
    **columns: str,
) -> dict[str, str]:
    """One survey row: labels, hints and constraint messages in Spanish and English."""
    row = {"type": type_, "name": name}
    for column, (text_es, text_en) in (
        ("label", (es, en)),
        ("hint", hint),
        ("constraint_message", constraint_message),
    ):
        if text_es or text_en:
            row[f"{column}::{ES}"] = text_es
            row[f"{column}::{EN}"] = text_en
    row.update(columns)
    return row


#: The survey sheet, one dict per row (column -> value).
SURVEY: list[dict[str, str]] = [
    _q("start", "start"),
    _q("end", "end"),
    _q(
        f"select_one_from_file {CASES_LIST}",
        "case_id",
        "Alerta o caso que se verifica",
        "Alert or case being verified",
        hint=(
            "Elija el código del paquete de patrulla. Déjelo vacío si es un reporte nuevo.",
            "Choose the code from the patrol package. Leave it empty for a new report.",
        ),
        appearance="search",
    ),
    _q(
        "geopoint",
        "arrival_location",
        "Ubicación de llegada",
        "Arrival location",
        hint=(
            "Espere a que la precisión sea de 10 m o menos.",
            "Wait until the accuracy is 10 m or better.",
        ),
        required="yes",
    ),
    _q(
        "dateTime",
        "arrival_time",
        "Fecha y hora de llegada",
        "Arrival date and time",
        required="yes",
    ),
    _q(
        "select_one yes_no",
        "reached",
        "¿Llegaron al lugar de la alerta?",
        "Did you reach the alert site?",
        required="yes",
    ),
    _q(
        "select_one verdict",
        "verdict",
        "¿Qué encontraron?",
        "What did you find?",
        required="yes",
        constraint="${reached} = 'yes' or . = 'not_reached'",
        constraint_message=(
            "Si no llegaron al lugar, elija «No se llegó al lugar».",
            "If you did not reach the site, choose «Not reached».",
        ),
    ),
    _q("image", "photo_1", "Foto 1", "Photo 1", relevant="${reached} = 'yes'"),
    _q("image", "photo_2", "Foto 2", "Photo 2", relevant="${photo_1} != ''"),
    _q("image", "photo_3", "Foto 3", "Photo 3", relevant="${photo_2} != ''"),
    _q(
        "text",
        "notes",
        "Notas",
        "Notes",
        hint=(
            "Qué vieron, quién estaba, tamaño aproximado, acceso.",
            "What you saw, who was there, approximate size, access.",
        ),
        appearance="multiline",
    ),
    _q(
        "select_one yes_no",
        "approach_with_care",
        "¿Hay que acercarse con cuidado? (pista, campamento, personas armadas)",
        "Approach with care? (airstrip, camp, armed people)",
        required="yes",
    ),
]

#: The choices sheet, one dict per row.
CHOICES: list[dict[str, str]] = [
    {"list_name": "yes_no", "name": "yes", f"label::{ES}": "Sí", f"label::{EN}": "Yes"},
    {"list_name": "yes_no", "name": "no", f"label::{ES}": "No", f"label::{EN}": "No"},
] + [
    {"list_name": "verdict", "name": v.value, f"label::{ES}": es, f"label::{EN}": en}
    for v, (es, en) in VERDICT_LABELS.items()
]

#: The settings sheet (one row).
SETTINGS: dict[str, str] = {
    "form_title": "Visita de verificación (vigilancia)",
    "form_id": FORM_ID,
    "version": "2025010101",
    "default_language": ES,
    "instance_name": "concat(${case_id}, ' ', ${verdict})",
}

_SURVEY_COLUMNS = [
    "type",
    "name",
    f"label::{ES}",
    f"label::{EN}",
    f"hint::{ES}",
    f"hint::{EN}",
    "required",
    "relevant",
    "constraint",
    f"constraint_message::{ES}",
    f"constraint_message::{EN}",
    "appearance",
]
_CHOICE_COLUMNS = ["list_name", "name", f"label::{ES}", f"label::{EN}"]


def sheet_rows() -> dict[str, list[list[str]]]:
    """The three sheets as rows of cells (header first), exactly as written to the .xlsx."""

    def table(columns: list[str], rows: list[dict[str, str]]) -> list[list[str]]:
        unknown = {k for r in rows for k in r} - set(columns)
        if unknown:
            raise ValueError(f"columns not in the sheet header: {sorted(unknown)}")
        return [list(columns)] + [[r.get(c, "") for c in columns] for r in rows]

    return {
        "survey": table(_SURVEY_COLUMNS, SURVEY),
        "choices": table(_CHOICE_COLUMNS, CHOICES),
        "settings": [list(SETTINGS), list(SETTINGS.values())],
    }


def write_xlsform(path: str | Path) -> Path:
    """Write the form to ``path`` (.xlsx) with openpyxl and return the path."""
    from openpyxl import Workbook

    wb = Workbook()
    first = True
    for title, rows in sheet_rows().items():
        ws = wb.active if first else wb.create_sheet()
        assert ws is not None
        ws.title = title
        first = False
        for row in rows:
            ws.append([cell if cell != "" else None for cell in row])
    out = Path(path)
    wb.save(out)
    return out


def read_xlsform_rows(path: str | Path) -> dict[str, list[list[str]]]:
    """The cells of an .xlsx form, sheet by sheet (empty cells as ``""``), for checking."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        return {
            ws.title: [
                ["" if c is None else str(c) for c in row]
                for row in ws.iter_rows(values_only=True)
            ]
            for ws in wb.worksheets
        }
    finally:
        wb.close()


def xlsform_path() -> Path:
    """Where the shipped verification-visit form (.xlsx) is installed."""
    ref = resources.files("vigilancia") / "forms" / FORM_FILE
    return Path(str(ref))


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


_ANSWERS: Mapping[str, Verdict] = {
    **{_fold(v.value): v for v in Verdict},
    **{_fold(code): v for v, code in spanish_codes(Verdict).items()},
    **{_fold(code.replace("_", " ")): v for v, code in spanish_codes(Verdict).items()},
    **{_fold(label): v for v, labels in VERDICT_LABELS.items() for label in labels},
}


def verdict_from_answer(answer: Any) -> Verdict | None:
    """The verdict an answer names (choice name or label, any case or accents); None if empty.

    Raises ValueError for an answer that names no verdict.
    """
    if answer is None:
        return None
    text = str(answer).strip()
    if not text:
        return None
    found = _ANSWERS.get(_fold(text))
    if found is None:
        raise ValueError(f"not a verdict: {text!r}")
    return found


def tagged_verdict(tags: Mapping[str, Any], where: str, warnings: list[str]) -> Verdict | None:
    """The verdict of free-form tags (``verdict`` or ``veredicto``), or None.

    Free-form data (CoMapeo tags, KML ExtendedData) may hold anything: an answer
    that names no verdict gives None and a warning naming ``where``, instead of
    an error.
    """
    answer = next((tags[k] for k in tags if str(k).casefold() in ("verdict", "veredicto")), None)
    try:
        return verdict_from_answer(answer)
    except ValueError:
        warnings.append(
            _(
                "{where}: {value!r} is not a verdict; use one of: {choices}",
                where=where,
                value=str(answer)[:60],
                choices=verdict_choices(),
            )
        )
        return None


def verdict_choices() -> str:
    """The verdict choice names, comma-separated, for messages."""
    return ", ".join(v.value for v in Verdict)
