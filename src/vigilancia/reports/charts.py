"""The reports' charts (matplotlib, no pyplot), as PNG bytes without date metadata.

- :func:`month_bars`: stacked bars per month (e.g. hectares inside and near a territory,
  or by likely driver) with the count of clearings as a line on a second axis;
- :func:`year_lines`: one line per series over years (coca hectares by department);
- :func:`paired_bars`: two bars per year (official forest loss beside the system's own
  detections).

Every chart takes its labels already translated and its source line, which it writes at
its foot: a figure never goes without the source of its numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from vigilancia.i18n import number
from vigilancia.reports.cartography import png_bytes
from vigilancia.services.texts.reports import month_name

__all__ = ["DRIVER_COLOURS", "month_bars", "paired_bars", "year_lines"]

#: Colours of the likely drivers in charts (colour-blind safe), and of the unclassified.
DRIVER_COLOURS = {
    "coca": "#1b9e77",
    "airstrip": "#d95f02",
    "mining": "#7570b3",
    "road": "#e7298a",
    "agriculture": "#66a61e",
    "other": "#a6761d",
    None: "#bdbdbd",
}
SERIES_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02",
                  "#a6761d", "#666666")


def _figure(width_mm: float, height_mm: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_mm / 25.4, height_mm / 25.4))
    FigureCanvasAgg(fig)
    return fig


def _style(ax: Any) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.tick_params(labelsize=6.5)
    ax.grid(axis="y", color="#e3e3e3", lw=0.5)
    ax.set_axisbelow(True)


def _source(fig: Any, text: str) -> None:
    fig.text(0.01, 0.01, text, fontsize=5.8, color="#4d4d4d", ha="left", va="bottom",
             wrap=True)


def month_bars(months: Sequence[date], stacks: Mapping[Any, Sequence[float]],
               labels: Mapping[Any, str], *, counts: Sequence[int] | None,
               count_label: str, value_label: str, source: str,
               colours: Mapping[Any, str] | None = None, width_mm: float = 178,
               height_mm: float = 70) -> bytes:
    """Stacked bars of ``stacks`` (series key -> one value per month) with their ``labels``,
    and ``counts`` as a line on the right axis; PNG."""
    fig = _figure(width_mm, height_mm)
    ax = fig.add_axes((0.07, 0.3, 0.84, 0.62))
    _style(ax)
    x = list(range(len(months)))
    bottom = [0.0] * len(months)
    handles = []
    for i, (key, values) in enumerate(stacks.items()):
        colour = (colours or {}).get(key, SERIES_COLOURS[i % len(SERIES_COLOURS)])
        bars = ax.bar(x, values, bottom=bottom, color=colour, width=0.72, label=labels[key],
                      edgecolor="white", linewidth=0.3)
        handles.append(bars)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel(value_label, fontsize=7)
    step = max(1, len(months) // 16)
    ax.set_xticks(x[::step])
    ax.set_xticklabels([month_name(m.year, m.month, short=True) for m in months][::step],
                       rotation=45, ha="right", fontsize=6)
    ax.set_xlim(-0.6, len(months) - 0.4)
    if counts is not None:
        ax2 = ax.twinx()
        ax2.plot(x, counts, color="#252525", marker="o", ms=2.5, lw=1.0, label=count_label)
        ax2.set_ylabel(count_label, fontsize=7)
        ax2.tick_params(labelsize=6.5)
        ax2.spines["top"].set_visible(False)
        ax2.set_ylim(0, max(1, max(counts)) * 1.15)
        line = ax2.get_lines()[0]
        handles.append(line)
    ax.set_ylim(0, max(1e-6, max(bottom)) * 1.12)
    ax.legend(handles=handles, loc="upper left", fontsize=6, frameon=False,
              ncol=min(4, len(handles)))
    _source(fig, source)
    return png_bytes(fig)


def year_lines(years: Sequence[int], series: Mapping[str, Sequence[float | None]], *,
               value_label: str, source: str, width_mm: float = 178,
               height_mm: float = 68) -> bytes:
    """One line per series (name -> value per year, None where missing); PNG."""
    fig = _figure(width_mm, height_mm)
    ax = fig.add_axes((0.08, 0.2, 0.62, 0.72))
    _style(ax)
    for i, (name, values) in enumerate(series.items()):
        pts = [(y, v) for y, v in zip(years, values, strict=True) if v is not None]
        if not pts:
            continue
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, lw=1.4,
                color=SERIES_COLOURS[i % len(SERIES_COLOURS)], label=name)
        last = pts[-1]
        ax.annotate(number(last[1]), last, xytext=(4, 0), textcoords="offset points",
                    fontsize=5.8, va="center")
    ax.set_xticks(list(years))
    ax.set_xticklabels([str(y) for y in years], fontsize=6.5)
    ax.set_ylabel(value_label, fontsize=7)
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", bbox_to_anchor=(1.04, 1.0), fontsize=6.5, frameon=False)
    _source(fig, source)
    return png_bytes(fig)


def paired_bars(years: Sequence[int], first: Sequence[float], second: Sequence[float], *,
                labels: tuple[str, str], value_label: str, source: str,
                width_mm: float = 178, height_mm: float = 62) -> bytes:
    """Two bars per year (``first`` beside ``second``) with their values written; PNG."""
    fig = _figure(width_mm, height_mm)
    ax = fig.add_axes((0.08, 0.22, 0.88, 0.64))
    _style(ax)
    x = list(range(len(years)))
    w = 0.38
    for offset, values, colour, label in ((-w / 2, first, "#636363", labels[0]),
                                          (w / 2, second, "#e31a1c", labels[1])):
        xs = [v + offset for v in x]
        ax.bar(xs, values, width=w, color=colour, label=label)
        for xv, v in zip(xs, values, strict=True):
            ax.annotate(number(v), (xv, v), xytext=(0, 2), textcoords="offset points",
                        ha="center", fontsize=5.6)
    ax.set_xticks(x)
    ax.set_xticklabels([str(y) for y in years], fontsize=6.5)
    ax.set_ylabel(value_label, fontsize=7)
    top = max([*first, *second, 1e-6])
    ax.set_ylim(0, top * 1.15)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, fontsize=6.5,
              frameon=False)
    _source(fig, source)
    return png_bytes(fig)
