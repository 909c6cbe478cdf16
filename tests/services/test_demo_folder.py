"""The demo deletes only what it made: a folder it did not make, the current folder, the
folders above it and the home folder are refused, and nothing in them is touched."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigilancia.cli import app
from vigilancia.errors import ConflictError, InputError
from vigilancia.services.demo import DEMO_MARKER, claim_output
from vigilancia.services.workspace import init_workspace

ENV = {"VIGILANCIA_LANGUAGE": "es", "COLUMNS": "300"}


def tree(folder: Path) -> dict[str, bytes | None]:
    return {p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


@pytest.fixture
def workspace_with_evidence(tmp_path: Path) -> Path:
    from vigilancia.config import Settings

    ws = tmp_path / "trabajo"
    init_workspace(ws, Settings()).close()
    for k in range(5):
        f = ws / "evidencia" / f"{k:02x}" / f"{k:02x}{'0' * 62}.jpg"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"\xff\xd8 evidence %d" % k)
    return ws


def test_a_folder_with_a_workspace_is_refused_and_nothing_deleted(workspace_with_evidence):
    ws = workspace_with_evidence
    before = tree(ws)
    res = CliRunner().invoke(app, ["demo", "--output", str(ws)], env=ENV)
    assert res.exit_code == 4, res.output
    text = " ".join(res.output.split())
    assert "no la creó la demostración" in text and "no se borró nada" in text
    assert "--output" in text
    assert tree(ws) == before


@pytest.mark.parametrize("where", [".", "..", "~"])
def test_the_current_folder_those_above_it_and_home_are_refused(tmp_path, monkeypatch, where):
    home = tmp_path / "casa"
    cwd = home / "proyecto"
    cwd.mkdir(parents=True)
    (cwd / "datos.csv").write_text("mío", encoding="utf-8")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    before = tree(home)
    res = CliRunner().invoke(app, ["demo", "-o", where], env=ENV)
    assert res.exit_code == 2, res.output
    assert "es la carpeta actual" in " ".join(res.output.split())
    assert tree(home) == before
    with pytest.raises(InputError):
        claim_output(Path(where).expanduser())


def test_an_empty_current_folder_is_refused_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError):
        claim_output(Path("."))
    with pytest.raises(InputError):
        claim_output(tmp_path)  # the same folder, written in full
    assert not any(tmp_path.iterdir())


def test_new_and_empty_folders_are_taken_and_marked(tmp_path):
    new = tmp_path / "a" / "demo"
    claim_output(new)
    marker = json.loads((new / DEMO_MARKER).read_text(encoding="utf-8"))
    assert marker["made_by"] == "vigilancia demo" and marker["files"] is None
    empty = tmp_path / "vacia"
    empty.mkdir()
    claim_output(empty)
    assert [p.name for p in empty.iterdir()] == [DEMO_MARKER]
    a_file = tmp_path / "archivo"
    a_file.write_text("x", encoding="utf-8")
    with pytest.raises(InputError):
        claim_output(a_file)
    assert a_file.read_text(encoding="utf-8") == "x"


def _finished_demo(folder: Path, files: dict[str, str]) -> None:
    from vigilancia.services.demo import _write_marker

    claim_output(folder)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    _write_marker(folder, finished=True)


def test_its_own_folder_is_emptied_of_what_it_wrote(tmp_path):
    out = tmp_path / "demo"
    _finished_demo(out, {"claros.gpkg": "a", "espacio/vigilancia.sqlite": "b",
                         "riesgo/riesgo.png": "c"})
    (out / "espacio" / "vigilancia.sqlite-wal").write_text("wal", encoding="utf-8")
    claim_output(out)
    assert [p.name for p in out.iterdir()] == [DEMO_MARKER]


def test_its_own_folder_with_other_files_is_refused(tmp_path):
    out = tmp_path / "demo"
    _finished_demo(out, {"claros.gpkg": "a", "espacio/vigilancia.sqlite": "b"})
    (out / "espacio" / "evidencia").mkdir()
    (out / "espacio" / "evidencia" / "foto.jpg").write_text("mía", encoding="utf-8")
    outside = tmp_path / "fuera.txt"
    outside.write_text("fuera", encoding="utf-8")
    os.symlink(outside, out / "enlace")
    before = tree(out)
    with pytest.raises(ConflictError) as err:
        claim_output(out)
    assert "espacio/evidencia/foto.jpg" in err.value.message and "enlace" in err.value.message
    assert tree(out) == before and outside.read_text(encoding="utf-8") == "fuera"


def test_a_demo_killed_before_its_end_leaves_a_folder_it_may_empty(tmp_path):
    out = tmp_path / "demo"
    claim_output(out)  # marked, no list yet: the folder was new, all in it is the demo's
    (out / "datos").mkdir()
    (out / "datos" / "alertas.tif").write_bytes(b"II*\x00")
    claim_output(out)
    assert [p.name for p in out.iterdir()] == [DEMO_MARKER]


def test_a_forged_or_damaged_marker_protects_nothing(tmp_path):
    out = tmp_path / "demo"
    out.mkdir()
    (out / "tesis.docx").write_text("años de trabajo", encoding="utf-8")
    (out / DEMO_MARKER).write_text("{no es json", encoding="utf-8")
    with pytest.raises(ConflictError):
        claim_output(out)
    (out / DEMO_MARKER).write_text(json.dumps({"made_by": "otro", "files": None}),
                                   encoding="utf-8")
    with pytest.raises(ConflictError):
        claim_output(out)
    assert (out / "tesis.docx").read_text(encoding="utf-8") == "años de trabajo"
