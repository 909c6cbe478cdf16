"""The monthly community bulletin as PDF or HTML: a
:class:`~vigilancia.services.bulletin.Bulletin` and its
:class:`~vigilancia.services.reporting.Issue` in, the document's bytes out.

One or two A4 pages, in the bulletin's language: the month in figures (new clearings
inside and near the territory, against the month before; open cases; the risk class),
the map of the month's new clearings (red) with the earlier ones of the year (grey) and
the cases numbered, the new clearings, the cases by priority with what the patrols found,
the risk and what changed since last month, the 12-month trend, and the sources. It names
no person. The HTML is one self-contained page (images inside) that carries its content
document, base64-encoded, in a ``<script id="contenido">`` element (``base64 -d`` gives
the exact bytes whose SHA-256 is the content hash); the PDF embeds it as
``contenido.json``.
"""

from __future__ import annotations

import base64
from typing import Any

from vigilancia.i18n import _, language, number
from vigilancia.reports.cartography import render_view
from vigilancia.reports.charts import month_bars
from vigilancia.reports.document import data_uri, render_template, write_pdf
from vigilancia.services.bulletin import Bulletin
from vigilancia.services.reporting import Issue, content_bytes, content_hash
from vigilancia.services.texts.cases import status_name, verdict_name
from vigilancia.services.texts.drivers import driver_name
from vigilancia.services.texts.reports import month_name, tenure_name, territory_kind_name
from vigilancia.services.texts.risk import class_name, factor_name

__all__ = ["bulletin_html", "render_bulletin", "render_bulletin_html"]

CONTENT_NAME = "contenido.json"


def _change(now: float, before: float) -> str:
    """"+3" / "−2" / "=" between two counts or areas."""
    diff = now - before
    if abs(diff) < 1e-9:
        return "="
    return ("+" if diff > 0 else "−") + number(abs(diff), 1 if abs(diff) < 10 else 0)


def _context(b: Bulletin, issue: Issue) -> dict[str, Any]:
    now, before = b.this_month, b.last_month
    t = b.territory
    months = [m.month for m in b.trend]
    chart = month_bars(
        months,
        {"inside": [m.inside_ha for m in b.trend], "nearby": [m.nearby_ha for m in b.trend]},
        {"inside": _("inside the territory (ha)"),
         "nearby": _("within {km} km (ha)", km=number(b.buffer_km, 1))},
        counts=[m.inside + m.nearby for m in b.trend], count_label=_("new clearings"),
        value_label=_("hectares"), colours={"inside": "#e31a1c", "nearby": "#fb9a99"},
        source=_("Source: satellite alerts processed by vigilancia ({files}).",
                 files="; ".join(b.sources) or "—"))
    view = render_view(b.map, width_mm=178, height_mm=118,
                       focus_label=_("New clearings in {month}",
                                     month=month_name(b.month.year, b.month.month)),
                       marker=False)
    risk = None
    if b.risk is not None:
        r = b.risk
        risk = {
            "cls": class_name(r.risk_class), "score": r.score, "rank": r.rank,
            "units": r.units, "as_of": r.as_of, "explanation": r.explanation,
            "previous": None if r.previous_class is None else {
                "cls": class_name(r.previous_class), "score": r.previous_score,
                "rank": r.previous_rank, "as_of": r.previous_as_of,
                "change": _change(r.score, r.previous_score or 0.0)},
            "moved": [{"factor": factor_name(f), "before": a, "now": c,
                       "change": _change(c, a)} for f, a, c in r.moved],
        }
    cases = [{"code": c.code, "priority": c.priority, "status": status_name(c.status),
              "driver": "—" if c.driver is None else driver_name(c.driver),
              "area": c.area_ha, "found": verdict_name(c.verdict) if c.verdict else None,
              "visited": c.visited, "records": c.records, "photos": c.photos,
              "new": c.opened_this_month, "field": c.origin == "field"} for c in b.cases]
    clearings = [{"id": c.id, "day": c.first_date, "area": c.area_ha,
                  "driver": "—" if c.driver is None else driver_name(c.driver),
                  "p": c.driver_probability,
                  "where": _("inside") if c.inside else _("nearby")} for c in b.clearings]
    return {
        "lang": b.language, "title": b.title, "organisation": b.organisation,
        "territory": t, "territory_kind": territory_kind_name(t.kind),
        "tenure": tenure_name(t.tenure),
        "month": month_name(b.month.year, b.month.month),
        "previous_month": None if before is None else month_name(before.month.year,
                                                                 before.month.month),
        "now": now, "before": before,
        "change_inside": None if before is None else _change(now.inside, before.inside),
        "change_area": None if before is None else _change(now.inside_ha + now.nearby_ha,
                                                            before.inside_ha + before.nearby_ha),
        "open_cases": sum(1 for c in b.cases if c.status in ("new", "assigned", "in_field")),
        "buffer_km": b.buffer_km,
        "map": data_uri(view), "chart": data_uri(chart),
        "clearings": clearings, "cases": cases, "risk": risk,
        "sources": b.sources,
        "issue": issue, "content_hash": content_hash(b.content()),
        "content_name": CONTENT_NAME,
    }


def bulletin_html(b: Bulletin, issue: Issue, *, embed: bool = False) -> str:
    """The bulletin as one self-contained HTML page; ``embed``: with its content document
    (base64) in the page, for the HTML file (the PDF embeds it as a file instead)."""
    with language(b.language):
        context = _context(b, issue)
        context["content_base64"] = None
        if embed:
            context["content_base64"] = base64.b64encode(content_bytes(b.content())).decode("ascii")
        return render_template(None, "bulletin.html.j2", context)


def render_bulletin(b: Bulletin, issue: Issue) -> bytes:
    """The bulletin as PDF (its content document embedded)."""
    html = bulletin_html(b, issue)
    return write_pdf(html, issued_at=issue.issued_at, identifier=content_hash(b.content()),
                     attachments=[(CONTENT_NAME, content_bytes(b.content()),
                                   "content document; its SHA-256 is the content hash")])


def render_bulletin_html(b: Bulletin, issue: Issue) -> bytes:
    """The bulletin as a self-contained HTML page (UTF-8 bytes)."""
    return bulletin_html(b, issue, embed=True).encode("utf-8")
