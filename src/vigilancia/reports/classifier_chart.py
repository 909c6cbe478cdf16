"""The evaluation of the driver model as a picture: confusion matrix, reliability, learning curve.

:func:`render_chart` writes one PNG with up to three panels, labelled in the
current language:

1. the confusion matrix (true drivers in rows, predicted in columns), each cell
   coloured by the share of its row and showing its count;
2. the reliability diagram: mean probability of the predicted driver against
   the share that was right, per probability bin, with the number of clearings
   per bin as bars (a calibrated model follows the diagonal);
3. when the evaluation has one, the learning curve: macro precision, recall and
   F1 against the number of training labels (log scale).

matplotlib draws on its Agg canvas directly (no pyplot, no display needed).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from vigilancia.domain.drivers import DRIVERS
from vigilancia.errors import UnreadableFileError
from vigilancia.i18n import _, number
from vigilancia.services.classifier import Evaluation
from vigilancia.services.texts.drivers import driver_name

__all__ = ["method_name", "render_chart"]


def method_name(method: str) -> str:
    """How an evaluation was made, in words."""
    names = {
        "holdout": lambda: _("labels the model did not learn from"),
        "cross-validation": lambda: _("5-fold cross-validation"),
        "direct": lambda: _("rules against the labels"),
    }
    make = names.get(method)
    return make() if make else method


def render_chart(evaluation: Evaluation, path: str | Path) -> Path:
    """Write the evaluation chart as a PNG at ``path`` (see the module docstring)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    s = evaluation.scores
    panels = 3 if evaluation.curve else 2
    fig = Figure(figsize=(5.6 * panels, 5.4), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, panels)
    names = [driver_name(d) for d in DRIVERS]

    ax = axes[0]
    cm = s.confusion.astype(np.float64)
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(len(DRIVERS)):
        for j in range(len(DRIVERS)):
            if cm[i, j]:
                ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=10,
                        color="white" if share[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(DRIVERS)), names, rotation=35, ha="right")
    ax.set_yticks(range(len(DRIVERS)), names)
    ax.set_xlabel(_("Predicted driver"))
    ax.set_ylabel(_("True driver (labels)"))
    ax.set_title(_("Confusion matrix (n = {n})", n=s.n))

    ax = axes[1]
    twin = ax.twinx()
    centres = [(b.lower + b.upper) / 2 for b in s.reliability]
    twin.bar(centres, [b.count for b in s.reliability], width=0.08, alpha=0.25,
             color="tab:orange", label=_("clearings"))
    twin.set_ylabel(_("Clearings"))
    ax.set_zorder(twin.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label=_("perfect"))
    used = [b for b in s.reliability if b.count]
    if used:
        ax.plot([b.mean_probability for b in used], [b.observed for b in used], marker="o",
                color="tab:blue", label=_("model"))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel(_("Probability of the predicted driver"))
    ax.set_ylabel(_("Share right"))
    ax.set_title(_("Reliability (Brier {brier}, ECE {ece})", brier=number(s.brier, 3),
                   ece=number(s.ece, 3)))
    ax.legend(loc="upper left")

    if evaluation.curve:
        ax = axes[2]
        xs = [p.n_labels for p in evaluation.curve]
        ax.plot(xs, [p.scores.macro_precision for p in evaluation.curve], marker="o",
                label=_("precision"))
        ax.plot(xs, [p.scores.macro_recall for p in evaluation.curve], marker="s",
                label=_("recall"))
        ax.plot(xs, [p.scores.macro_f1 for p in evaluation.curve], marker="^", label="F1")
        ax.set_xscale("log")
        ax.set_xticks(xs, [str(v) for v in xs])
        ax.minorticks_off()
        ax.set_ylim(0, 1)
        ax.set_xlabel(_("Training labels"))
        ax.set_ylabel(_("Macro average"))
        ax.set_title(_("Learning curve"))
        ax.legend(loc="lower right")
        ax.grid(alpha=0.3)

    fig.suptitle(
        _("Driver model {version}: {method}", version=evaluation.model_version,
          method=method_name(evaluation.method))
    )
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    out = Path(path)
    try:
        out.write_bytes(buf.getvalue())
    except OSError as exc:
        raise UnreadableFileError(
            _("the chart could not be written"),
            hint=_("check the folder exists and that you may write there"),
            source=str(out),
        ) from exc
    return out
