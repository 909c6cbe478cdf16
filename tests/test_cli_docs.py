"""Every command has help with an example and is in the README; every setting is documented;
help is in Spanish by default and in English with VIGILANCIA_LANGUAGE=en."""

from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from vigilancia.cli import app
from vigilancia.cli.base import (
    EXAMPLE,
    HelpCommand,
    HelpGroup,
    help_id,
    help_paragraphs,
    translate_tree,
    walk,
)
from vigilancia.config import Settings
from vigilancia.i18n import language

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands(group: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        path = (*prefix, name)
        if hasattr(cmd, "commands"):  # a group
            found.extend(_commands(cmd, path))
        else:
            found.append(path)
    return found


COMMANDS = _commands(typer.main.get_group(app))


def test_there_are_commands():
    assert {("monitor",), ("layers", "import"), ("classifier", "train")} <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p))
def test_command_help_has_an_example_and_is_in_the_readme(path):
    res = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    shown = " ".join(res.output.split())
    assert "Ejemplo: vigilancia " + " ".join(path) in shown
    # the framework's own words are Spanish too
    assert "Uso: vigilancia" in shown and "Opciones" in shown and "Muestra esta ayuda" in shown
    for english in ("Usage:", "Options", "Arguments", "Show this message", "[required]",
                    "Example:"):
        assert english not in shown, english
    assert "vigilancia " + " ".join(path) in README, f"README does not show {' '.join(path)}"


@pytest.mark.parametrize("path", COMMANDS[:3] + COMMANDS[-2:], ids=lambda p: " ".join(p))
def test_command_help_in_english_on_request(path):
    res = CliRunner().invoke(app, [*path, "--help"],
                             env={"COLUMNS": "200", "VIGILANCIA_LANGUAGE": "en"})
    assert res.exit_code == 0, res.output
    shown = " ".join(res.output.split())
    assert "Example: vigilancia " + " ".join(path) in shown and "Usage: vigilancia" in shown
    assert "Ejemplo" not in shown and "Opciones" not in shown


#: Help paragraphs that read the same in both languages (codes, names of formats).
SAME_IN_BOTH: set[str] = set()


def test_every_help_text_of_every_command_is_spanish_by_default():
    """No English help sentence is left: every paragraph of every command's, group's,
    option's and argument's help differs from its English id (or is a code)."""
    root = typer.main.get_group(app)
    english = {}
    for command in walk(root):
        for owner in (command, *command.params):
            for paragraph in help_paragraphs(getattr(owner, "help", None)):
                english[id(owner), help_id(paragraph)] = owner
    assert len(english) > 150
    with language("es"):
        translate_tree(root)
    same = []
    for command in walk(root):
        assert isinstance(command, HelpCommand | HelpGroup), (
            f"{command.name}: build command groups with vigilancia.cli.base.App")
        for owner in (command, *command.params):
            spanish = {help_id(p) for p in help_paragraphs(getattr(owner, "help", None))}
            for (key, text), _owner in english.items():
                if key == id(owner) and text in spanish and text not in SAME_IN_BOTH:
                    same.append(f"{command.name}: {text}")
    assert not same, "\n".join(same)
    # an example keeps its command; only its first word is translated
    examples = [help_id(p) for c in walk(root) for p in help_paragraphs(c.help)
                if help_id(p).startswith("Ejemplo: vigilancia ")]
    assert len(examples) >= len(COMMANDS)
    assert not [e for e in examples if EXAMPLE in e]


def test_usage_errors_are_worded_in_the_users_language():
    res = CliRunner().invoke(app, ["cases", "update", "ws"], env={"COLUMNS": "200"})
    assert res.exit_code == 2 and "Falta el argumento 'case'" in res.output
    res = CliRunner().invoke(app, ["risk", "assess", "ws", "--top", "x"],
                             env={"COLUMNS": "200"})
    assert res.exit_code == 2
    assert "Valor no válido para '--top': debe ser un número entero" in res.output
    res = CliRunner().invoke(app, ["cases", "list", "ws", "--tpo", "3"], env={"COLUMNS": "200"})
    assert "No existe la opción: --tpo" in res.output and "--top" in res.output
    res = CliRunner().invoke(app, ["cases", "update", "ws"],
                             env={"COLUMNS": "200", "VIGILANCIA_LANGUAGE": "en"})
    assert res.exit_code == 2 and "Missing argument 'case'" in res.output


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_the_readme(name):
    assert f"`VIGILANCIA_{name.upper()}`" in README
