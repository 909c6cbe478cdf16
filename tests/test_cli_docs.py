"""Every command has help with an example and is in the README; every setting is documented."""

from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from vigilancia.cli import app
from vigilancia.config import Settings

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
    assert "Example: vigilancia " + " ".join(path) in " ".join(res.output.split())
    assert "vigilancia " + " ".join(path) in README, f"README does not show {' '.join(path)}"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_the_readme(name):
    assert f"`VIGILANCIA_{name.upper()}`" in README
