"""Errors carry no shell wording; each shell words the inputs and actions they point at.

Services and io raise errors whose message and hint name no CLI flag or command (a web
user reads them too). What a fix is about travels as ``inputs`` (service parameter names)
and ``actions``; the CLI maps both to its options and commands in one table
(:mod:`vigilancia.cli.common`), and every name the package uses is in it.
"""

import ast
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import vigilancia
from vigilancia.cli import app
from vigilancia.cli.common import COMMANDS, OPTIONS, command_text, error_text, option_text
from vigilancia.errors import (
    Action,
    ConflictError,
    InputError,
    NotFoundError,
    VigilanciaError,
    action,
    http_status,
)
from vigilancia.i18n import language

SRC = Path(vigilancia.__file__).parent
SHELLS = ("cli", "web")
#: The CLI's commands and command groups (``monitor``, ``cases``...).
COMMAND_NAMES = sorted({c.name or c.callback.__name__ for c in app.registered_commands}
                       | {g.name for g in app.registered_groups})
#: A flag (``--overwrite``), a command (``vigilancia cases open``) or the WORKSPACE placeholder.
CLI_WORDING = re.compile(r"(?<![\w-])--[a-z]|\bWORKSPACE\b|\bvigilancia (?:"
                         + "|".join(COMMAND_NAMES) + r")\b")


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        if rel.parts[0] in SHELLS or "migrations" in rel.parts:
            continue
        yield rel, ast.parse(path.read_text(encoding="utf-8"))


def _func_name(node: ast.Call) -> str:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _strings(node: ast.AST):
    for n in ast.walk(node):
        if isinstance(n, ast.Constant) and isinstance(n.value, str):
            yield n.value


def test_errors_of_services_and_io_name_no_flag_nor_command():
    assert {"monitor", "cases", "labels", "init"} <= set(COMMAND_NAMES)
    wrong = []
    for rel, tree in _modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            texts = []
            if _func_name(node).endswith("Error") and node.args:
                texts.extend(_strings(node.args[0]))
            for kw in node.keywords:
                if kw.arg == "hint":
                    texts.extend(_strings(kw.value))
            wrong += [f"{rel}:{node.lineno}: {t!r}" for t in texts if CLI_WORDING.search(t)]
    assert not wrong, "\n".join(wrong)


def _references():
    """Every literal input name and action the package's errors point at."""
    inputs, actions = {}, {}
    for rel, tree in _modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            for kw in node.keywords:
                if kw.arg == "inputs":
                    for name in _strings(kw.value):
                        inputs.setdefault(name, f"{rel}:{node.lineno}")
            if _func_name(node) == "action" and node.args:
                name = node.args[0].value
                keys = tuple(kw.arg for kw in node.keywords)
                actions.setdefault((name, keys), f"{rel}:{node.lineno}")
    return inputs, actions


def test_every_input_and_action_the_errors_name_has_its_cli_wording():
    inputs, actions = _references()
    assert "overwrite" in inputs and ("cases.open", ("territory",)) in actions
    assert not {n: w for n, w in inputs.items() if n not in OPTIONS}
    missing = {}
    for (name, keys), where in actions.items():
        positional = COMMANDS.get(name, (None, ()))[1]
        if name not in COMMANDS or any(k not in positional and k not in OPTIONS for k in keys):
            missing[name, keys] = where
    assert not missing, missing


def test_the_cli_words_inputs_as_options_and_actions_as_commands():
    err = ConflictError("paquete.zip already exists", hint="give another name, or replace it",
                        inputs="overwrite")
    assert err.user_text() == "paquete.zip already exists (give another name, or replace it)"
    assert error_text(err) == err.user_text() + " (--overwrite)"
    err = NotFoundError("no settlement called 'X'", hint="give the start as lon,lat",
                        inputs="start", actions=action("layers.import", kind="settlement"))
    assert error_text(err).endswith(
        "(--start; vigilancia layers import ESPACIO ARCHIVO --kind settlement)")
    with language("en"):
        assert command_text(action("cases.open", territory="CN Puerto Azul")) == (
            'vigilancia cases open WORKSPACE --territory "CN Puerto Azul"')
        assert command_text(action("cases.show", case="C-0042")) == (
            "vigilancia cases show WORKSPACE C-0042")
    assert option_text("start", "-74.95,-9.47") == "--start=-74.95,-9.47"
    assert option_text("allow_unmatched") == "--skip-unmatched"
    plain = InputError("wrong")
    assert error_text(plain) == "wrong" and plain.inputs == () and plain.actions == ()


def test_references_are_data_for_any_shell():
    err = VigilanciaError("x", inputs=("max_km", "start"),
                          actions=[Action("cases.open", (("territory", "CN Alfa"),))])
    assert err.inputs == ("max_km", "start")
    assert err.actions == (action("cases.open", territory="CN Alfa"),)
    assert str(err) == "x" and http_status(err) == 500


@pytest.mark.parametrize("lang, words", [("es", "indique otro nombre, o reemplácelo"),
                                         ("en", "give another name, or replace it")])
def test_the_cli_shows_the_flag_after_the_plain_hint(tmp_path, lang, words):
    """`package` over an existing ZIP: the service says what to do, the CLI adds the flag."""
    from vigilancia.config import Settings
    from vigilancia.services.workspace import init_workspace

    ws = tmp_path / "ws"
    init_workspace(ws, Settings()).close()
    zipped = tmp_path / "paquete.zip"
    zipped.write_bytes(b"PK")
    res = CliRunner().invoke(app, ["package", str(ws), "-t", "CN Alfa", "-o", str(zipped)],
                             env={"VIGILANCIA_LANGUAGE": lang, "COLUMNS": "300"})
    assert res.exit_code == 4, res.output
    text = " ".join(res.output.split())
    assert f"({words}) (--overwrite)" in text
