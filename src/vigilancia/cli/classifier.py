"""``vigilancia classifier`` (train, evaluate, status) and ``vigilancia labels`` (import)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from vigilancia.cli.base import App
from vigilancia.cli.common import out, print_json, run_reported, settings_from_env
from vigilancia.i18n import N_, _, ngettext, number, percent

classifier_app = App(
    help=N_("The driver model: train it on labelled clearings, evaluate it, see its status.")
    + "\n\nExample: vigilancia classifier train ws --labels verificados.csv",
    no_args_is_help=True,
)
labels_app = App(
    help=N_("Labelled clearings (the true driver, from patrols or files) that train the model.")
    + "\n\nExample: vigilancia labels import ws verificados.geojson",
    no_args_is_help=True,
)

_JSON_HELP = "Print a machine-readable result."


def _pct(value: Any) -> str:
    return "-" if value is None else percent(value)


def _num(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{float(value):.{digits}f}"


@labels_app.command("import")
def labels_import(
    workspace: Annotated[Path, typer.Argument(help=N_("Workspace folder."))],
    file: Annotated[
        Path,
        typer.Argument(
            help=N_("CSV with clearing_id,driver columns, or GeoJSON/GeoPackage/Shapefile "
            "points or polygons with a driver field.")
        ),
    ],
    skip_unmatched: Annotated[
        bool,
        typer.Option(help=N_("Leave out labels that match no stored clearing instead of failing.")),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
) -> None:
    """Import labelled clearings: driver classes in English or Spanish (coca, pista, minería...).

    Example: vigilancia labels import ws verificados.csv
    """
    from vigilancia.services.labels import import_labels
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        with open_workspace(workspace, settings) as store:
            return import_labels(store, file, allow_unmatched=skip_unmatched)

    res = run_reported(go)
    if as_json:
        print_json(res)
        return
    if res.skipped_existing:
        out.print(_("Already imported: {source} (nothing added)", source=res.path))
        return
    out.print(ngettext("{n} label imported from {source}",
                       "{n} labels imported from {source}",
                       res.added, source=res.path))
    if res.unmatched:
        out.print(ngettext("{n} label matched no clearing and was left out",
                           "{n} labels matched no clearing and were left out",
                           res.unmatched))
    _print_counts(res.by_driver)


def _print_counts(counts: dict[str, int]) -> None:
    from vigilancia.services.texts.drivers import driver_name

    table = Table(title=_("Labels per driver"))
    table.add_column(_("Driver class"))
    table.add_column(_("Labels"), justify="right")
    for driver, n in counts.items():
        table.add_row(driver_name(driver), number(n))
    out.print(table)


@classifier_app.command("train")
def classifier_train(
    workspace: Annotated[Path, typer.Argument(help=N_("Workspace folder."))],
    labels: Annotated[
        Path | None,
        typer.Option("--labels", help=N_("Label file to import first (CSV or vector).")),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
) -> None:
    """Train the driver model on the labelled clearings, make it active and re-classify.

    With too few labels (fewer than 30, or fewer than 2 drivers with 5 each) nothing
    is trained and the transparent rules keep predicting.

    Example: vigilancia classifier train ws --labels verificados.csv
    """
    from vigilancia.services.classifier import train
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        with open_workspace(workspace, settings) as store:
            return train(store, labels_path=labels)

    res = run_reported(go)
    if as_json:
        print_json(res)
        return
    if res.imported:
        out.print(ngettext("{n} label imported from {source}",
                           "{n} labels imported from {source}",
                           res.imported, source=labels))
    if res.reused:
        out.print(_("Model {version} was already trained on these labels; it is active again",
                    version=res.version))
    else:
        out.print(_("Model {version} trained on {n} labels and made active",
                    version=res.version, n=res.n_labels))
    if res.left_out:
        from vigilancia.services.texts.drivers import driver_name

        out.print(_("Left out (fewer than 5 labels): {drivers}", drivers=", ".join(
            f"{driver_name(d)} ({n})" for d, n in res.left_out.items())))
    _print_metrics(res.metrics, _("Cross-validated scores"))
    out.print(ngettext("{n} clearing classified again with the new model",
                       "{n} clearings classified again with the new model",
                       res.reclassified))


def _print_metrics(metrics: dict[str, Any], title: str) -> None:
    from vigilancia.services.texts.drivers import driver_name

    per = metrics.get("per_driver") or {}
    if not per:
        return
    table = Table(title=title)
    for col in (_("Driver class"), _("Precision"), _("Recall"), "F1", _("Labels"), _("Predicted")):
        table.add_column(col, justify="left" if col == _("Driver class") else "right")
    for driver, sc in per.items():
        if not sc["support"] and not sc["predicted"]:
            continue
        table.add_row(driver_name(driver), _pct(sc["precision"]), _pct(sc["recall"]),
                      _pct(sc["f1"]), str(sc["support"]), str(sc["predicted"]))
    macro = metrics.get("macro") or {}
    table.add_row(f"[bold]{_('Macro average')}[/]", _pct(macro.get("precision")),
                  _pct(macro.get("recall")), _pct(macro.get("f1")), str(metrics.get("n", "")), "")
    out.print(table)
    cal = metrics.get("calibration") or {}
    out.print(_("Accuracy {acc}; Brier score {brier} (0 is perfect); calibration error {ece}",
                acc=_pct(metrics.get("accuracy")), brier=_num(cal.get("brier")),
                ece=_num(cal.get("ece"))))


@classifier_app.command("evaluate")
def classifier_evaluate(
    workspace: Annotated[Path, typer.Argument(help=N_("Workspace folder."))],
    labels: Annotated[
        Path | None,
        typer.Option("--labels", help=N_("Label file to test against (not stored); default: the "
                     "workspace's labels, cross-validated.")),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
    chart: Annotated[
        Path | None,
        typer.Option("--chart", help=N_("Write a PNG: confusion matrix, reliability, "
                                        "learning curve.")),
    ] = None,
    curve: Annotated[
        bool, typer.Option("--curve/--no-curve", help=N_("Compute the learning curve."))
    ] = True,
) -> None:
    """Score the active model (the rules when none): precision, recall, F1, confusion, calibration.

    Example: vigilancia classifier evaluate ws --labels verificados_2025.csv --chart evaluacion.png
    """
    from vigilancia.reports.classifier_chart import render_chart
    from vigilancia.services.classifier import evaluate
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        with open_workspace(workspace, settings) as store:
            ev = evaluate(store, labels, curve=curve)
        if chart is not None:
            render_chart(ev, chart)
        return ev

    ev = run_reported(go)
    if as_json:
        print_json(ev)
        return
    _print_evaluation(ev.to_dict())
    if chart is not None:
        out.print(_("Chart written to {path}", path=chart))


def _print_evaluation(data: dict[str, Any]) -> None:
    from vigilancia.reports.classifier_chart import method_name
    from vigilancia.services.texts.drivers import driver_name

    out.print(_("Model {version} ({method}), {n} labels from {source}",
                version=data["model_version"], method=method_name(data["method"]),
                n=data["n"], source=data["labels_source"]))
    if data.get("in_training"):
        out.print(_("Warning: the model learnt from {n} of these labels; the scores are "
                    "optimistic", n=data["in_training"]))
    _print_metrics(data, _("Scores per driver"))

    conf = data["confusion"]
    table = Table(title=_("Confusion matrix (rows: labels, columns: predicted)"))
    table.add_column("")
    for d in conf["labels"]:
        table.add_column(driver_name(d), justify="right")
    for d, row in zip(conf["labels"], conf["matrix"], strict=True):
        if any(row):
            table.add_row(driver_name(d), *(str(v) if v else "." for v in row))
    out.print(table)

    rel = Table(title=_("Reliability: probability given against share right"))
    for col in (_("Probability"), _("Clearings"), _("Mean probability"), _("Share right")):
        rel.add_column(col, justify="right")
    for b in data["calibration"]["bins"]:
        if b["count"]:
            rel.add_row(f"{number(b['lower'], 1)}–{number(b['upper'], 1)}", number(b["count"]),
                        _pct(b["mean_probability"]), _pct(b["observed"]))
    out.print(rel)

    if data["learning_curve"]:
        lc = Table(title=_("Learning curve (held-out labels)"))
        for col in (_("Training labels"), _("Precision"), _("Recall"), "F1", "Brier"):
            lc.add_column(col, justify="right")
        for p in data["learning_curve"]:
            lc.add_row(str(p["labels"]), _pct(p["precision"]), _pct(p["recall"]),
                       _pct(p["f1"]), _num(p["brier"]))
        out.print(lc)


@classifier_app.command("status")
def classifier_status(
    workspace: Annotated[Path, typer.Argument(help=N_("Workspace folder."))],
    as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
) -> None:
    """Which model predicts drivers, the labels per driver, and the model's scores.

    Example: vigilancia classifier status ws
    """
    from vigilancia.services.classifier import classifier_status as status
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        with open_workspace(workspace, settings) as store:
            return status(store)

    st = run_reported(go)
    if as_json:
        print_json(st)
        return
    if st.active is None:
        out.print(_("Active model: transparent rules ({version}); no trained model is active",
                    version=st.rules_version))
    else:
        a = st.active
        out.print(_("Active model: {version}, trained {when} on {n} labels",
                    version=a["version"], when=a["created_at"], n=a["n_labels"]))
    _print_counts(st.labels)
    if st.can_train:
        out.print(_("{n} labelled clearings: enough to train", n=st.labelled_clearings))
    else:
        out.print(ngettext(
            "{n} labelled clearing: too few to train (at least {m}, and 2 drivers with {k} each)",
            "{n} labelled clearings: too few to train (at least {m}, and 2 drivers with {k} each)",
            st.labelled_clearings, m=st.min_labels, k=st.min_per_class))
    if st.active is not None:
        _print_metrics(st.active["metrics"], _("Cross-validated scores"))
    if len(st.models) > 1:
        table = Table(title=_("Stored models"))
        for col in (_("Version"), _("Trained"), _("Labels"), "F1", _("Active")):
            table.add_column(col)
        for m in st.models:
            f1 = (m["metrics"].get("macro") or {}).get("f1")
            table.add_row(m["version"], m["created_at"], str(m["n_labels"]), _pct(f1),
                          "✓" if m["active"] else "")
        out.print(table)


@classifier_app.command("apply")
def classifier_apply(
    workspace: Annotated[Path, typer.Argument(help=N_("Workspace folder."))],
    batch: Annotated[
        list[int] | None, typer.Option("--batch", help=N_("Only clearings of this batch id."))
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
) -> None:
    """Predict the likely driver of stored clearings with the active model (or the rules),
    e.g. after `monitor --no-classify` or after importing a new context layer. Clearings
    that line up into a runway candidate take the candidate's prediction.

    Example: vigilancia classifier apply ws --batch 3
    """
    from vigilancia.services.classify import classify_clearings
    from vigilancia.services.texts.drivers import driver_name
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        with open_workspace(workspace, settings) as store:
            return classify_clearings(store, batch_ids=batch)

    res = run_reported(go)
    if as_json:
        print_json(res)
        return
    table = Table(title=_("Likely driver ({model})", model=res.model_version))
    table.add_column(_("Driver"))
    table.add_column(_("Clearings"))
    for driver, n in sorted(res.by_driver.items(), key=lambda kv: -kv[1]):
        if n:
            table.add_row(driver_name(driver), number(n))
    out.print(table)
    out.print(ngettext("{n} clearing classified; context known on average: {share} %",
                       "{n} clearings classified; context known on average: {share} %",
                       res.clearings, share=number(100 * res.mean_completeness)))
    if res.runways:
        out.print(ngettext("{n} likely runway joined from aligned clearings: {clearings} "
                           "clearings are airstrips",
                           "{n} likely runways joined from aligned clearings: {clearings} "
                           "clearings are airstrips",
                           res.runways, n=number(res.runways),
                           clearings=number(res.runway_clearings)))
