"""Command line: the ``vigilancia`` command, assembled from one module per command group.

Each module parses, calls one service and prints the result (see
:mod:`vigilancia.cli.common`); errors of the
:class:`~vigilancia.errors.VigilanciaError` hierarchy become a one-line message (file,
problem, fix) and an exit code; nothing else leaks. This module only puts the groups
and commands together.
"""

from __future__ import annotations

import os

from vigilancia.cli.airstrips import airstrips_app
from vigilancia.cli.aoi import aoi_app
from vigilancia.cli.base import App
from vigilancia.cli.cases import cases_app
from vigilancia.cli.classifier import classifier_app, labels_app
from vigilancia.cli.clearings import clearings_app
from vigilancia.cli.corridors import routes_command
from vigilancia.cli.demo import demo_command
from vigilancia.cli.evidence import evidence_app
from vigilancia.cli.field import field_app
from vigilancia.cli.layers import layers_app
from vigilancia.cli.monitor import monitor_command
from vigilancia.cli.package import package_command
from vigilancia.cli.patrol import patrol_app
from vigilancia.cli.report import report_app
from vigilancia.cli.risk import risk_app
from vigilancia.cli.serve import serve_command
from vigilancia.cli.territories import territories_app
from vigilancia.cli.users import users_app
from vigilancia.cli.workspace import init_command
from vigilancia.i18n import N_

app = App(
    name="vigilancia",
    help=N_("Indigenous territorial monitoring and early warning.")
    + "\n\nExample: vigilancia init ws && vigilancia territories import ws comunidades.geojson "
    "&& vigilancia monitor ws --alerts alertas.tif --since 2024-01-01",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(territories_app, name="territories")
app.add_typer(aoi_app, name="aoi")
app.add_typer(clearings_app, name="clearings")
app.add_typer(layers_app, name="layers")
app.add_typer(field_app, name="field")
app.add_typer(classifier_app, name="classifier")
app.add_typer(labels_app, name="labels")
app.add_typer(airstrips_app, name="airstrips")
app.add_typer(risk_app, name="risk")
app.add_typer(cases_app, name="cases")
app.add_typer(patrol_app, name="patrol")
app.add_typer(users_app, name="users")
app.add_typer(report_app, name="report")
app.add_typer(evidence_app, name="evidence")
app.command("routes")(routes_command)
app.command("package")(package_command)
app.command("init")(init_command)
app.command("monitor")(monitor_command)
app.command("demo")(demo_command)
app.command("serve")(serve_command)


def main() -> None:
    """Entry point of the ``vigilancia`` command.

    Everything the command creates (workspaces, evidence, exports, packages, temporary
    files, and what libraries such as SQLite and GDAL write for it) is owner-only,
    whatever the user's umask: group and others get no permission.
    """
    os.umask(0o077)
    app(prog_name="vigilancia")


if __name__ == "__main__":  # pragma: no cover
    main()
