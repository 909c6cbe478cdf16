"""The report commands end to end, as a coordinator runs them: case, bulletin, trends and
templates, with their messages, JSON output and refusals."""

from __future__ import annotations

import json

import pytest
from pdf_checks import pdf_text
from report_world import MONITOR
from typer.testing import CliRunner

from vigilancia.cli import app


@pytest.fixture
def run(monkeypatch, no_network):
    monkeypatch.delenv("VIGILANCIA_DATABASE_URL", raising=False)
    monkeypatch.setenv("VIGILANCIA_LANGUAGE", "es")

    def invoke(*args: str):
        return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})

    return invoke


def test_case_report_command(world, run, tmp_path, pdf_tools):
    ws = world.store.dir
    out = tmp_path / "informe.pdf"
    res = run("report", "case", ws, world.case_code, "--output", out, "--to", "policia",
              "--imagery", "none", "--by", "coordinación")
    assert res.exit_code == 0, res.output
    assert "Escrito" in res.output and "Huella del contenido (SHA-256)" in res.output
    assert "No se pidieron imágenes satelitales" in res.output
    text = pdf_text(out)
    assert "Dirección Antidrogas" in text and world.case_code in text and MONITOR not in text
    again = run("report", "case", ws, world.case_code, "--output", out, "--imagery", "none")
    assert again.exit_code == 4 and "--overwrite" in again.output
    as_json = run("report", "case", ws, world.case_code, "-o", out, "--imagery", "none",
                  "--overwrite", "--json")
    assert as_json.exit_code == 0, as_json.output
    issued = json.loads(as_json.output)
    assert issued["kind"] == "case" and issued["format"] == "pdf"
    assert len(issued["content_hash"]) == 64 and issued["path"] == str(out)


def test_case_report_refusals(world, run, tmp_path):
    ws = world.store.dir
    res = run("report", "case", ws, "C-9999", "-o", tmp_path / "x.pdf")
    assert res.exit_code == 3 and "vigilancia cases list" in res.output
    res = run("report", "case", ws, world.case_code, "-o", tmp_path / "x.pdf", "--to", "juez")
    assert res.exit_code == 2 and "--to" in res.output and "fiscalia" in res.output
    res = run("report", "case", ws, world.case_code, "-o", tmp_path / "x.pdf",
              "--imagery", tmp_path / "no_hay.tif")
    assert res.exit_code == 2 and "no_hay.tif" in res.output
    assert not (tmp_path / "x.pdf").exists()


def test_bulletin_and_trends_commands(world, run, tmp_path, pdf_tools):
    ws = world.store.dir
    html = tmp_path / "boletin.html"
    res = run("report", "bulletin", ws, "--territory", world.territory, "--month", "2024-10",
              "--output", html)
    assert res.exit_code == 0, res.output
    assert "Boletín mensual" in html.read_text(encoding="utf-8")
    res = run("report", "bulletin", ws, "-t", world.territory, "--month", "2024-10",
              "-o", tmp_path / "boletin.docx")
    assert res.exit_code == 2 and ".pdf" in res.output
    res = run("report", "bulletin", ws, "-t", world.territory, "--month", "octubre",
              "-o", tmp_path / "b.pdf")
    assert res.exit_code == 2 and "--month" in res.output
    pdf = tmp_path / "tendencias.pdf"
    res = run("report", "trends", ws, "--output", pdf)
    assert res.exit_code == 0, res.output
    assert "Tendencias regionales" in pdf_text(pdf)


def test_templates_command(run, tmp_path):
    ws = tmp_path / "ws"
    assert run("init", ws).exit_code == 0
    res = run("report", "templates", ws)
    assert res.exit_code == 0, res.output
    folder = ws / "plantillas" / "destinatarios"
    assert len(list(folder.glob("*.html.j2"))) == 8
    (folder / "fiscalia.es.html.j2").write_text("{# mía #}", encoding="utf-8")
    res = run("report", "templates", ws)
    assert res.exit_code == 0 and "Se conserva" in res.output
    assert (folder / "fiscalia.es.html.j2").read_text(encoding="utf-8") == "{# mía #}"
    res = run("report", "templates", tmp_path / "no_ws")
    assert res.exit_code == 3
