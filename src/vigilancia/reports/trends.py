"""The regional trends report as PDF: :class:`~vigilancia.services.trends.Trends` and its
:class:`~vigilancia.services.reporting.Issue` in, PDF bytes out.

Pages (A4): the period in figures; new clearings per month by likely driver (chart) and
the drivers' totals; the districts and the territories with the most clearing (last 12
months against the 12 before, main driver); the latest risk ranking; DEVIDA's coca
hectares by department (chart of the workspace's departments, table of all departments
without the national total) and by zone; Geobosques' official district forest loss
beside the system's detections (chart and table); and the issue (content hash, custody
chain head). Every chart and table says where its numbers come from.
"""

from __future__ import annotations

from typing import Any

from vigilancia.i18n import _, language
from vigilancia.reports.charts import DRIVER_COLOURS, month_bars, paired_bars, year_lines
from vigilancia.reports.document import data_uri, render_template, write_pdf
from vigilancia.services.reporting import Issue, content_bytes, content_hash
from vigilancia.services.texts.drivers import driver_name
from vigilancia.services.texts.reports import month_name, territory_kind_name
from vigilancia.services.texts.risk import class_name
from vigilancia.services.trends import UNCLASSIFIED, Trends, department_key

__all__ = ["render_trends", "trends_html"]

CONTENT_NAME = "contenido.json"
TOP = 15


def _driver_label(key: str) -> str:
    return _("not classified") if key == UNCLASSIFIED else driver_name(key)


def _monthly(t: Trends) -> str | None:
    if not t.months:
        return None
    keys: list[str] = []
    for m in t.months:
        for k in m.area_by_driver:
            if k not in keys:
                keys.append(k)
    order = [k for k in DRIVER_COLOURS if k in keys] + [k for k in keys
                                                       if k not in DRIVER_COLOURS]
    stacks = {k: [m.area_by_driver.get(k, 0.0) for m in t.months] for k in order}
    colours = {k: DRIVER_COLOURS.get(None if k == UNCLASSIFIED else k, "#bdbdbd")
               for k in order}
    png = month_bars([m.month for m in t.months], stacks, {k: _driver_label(k) for k in order},
                     counts=[m.clearings for m in t.months], count_label=_("new clearings"),
                     value_label=_("hectares"), colours=colours,
                     source=_("Source: {files}, processed by vigilancia (likely drivers: "
                              "{models}).", files="; ".join(t.alert_sources) or "—",
                              models=", ".join(t.model_versions) or "—"),
                     height_mm=78)
    return data_uri(png)


def _coca(t: Trends) -> list[dict[str, Any]]:
    mine = {department_key(d) for d in t.departments}
    out = []
    for table in t.coca:
        latest = max(table.years)
        rows = sorted(table.rows, key=lambda r: (-(r.hectares.get(latest) or 0.0), r.name))
        chart = None
        if table.kind == "department":
            chosen = [r for r in rows if department_key(r.name) in mine] or rows[:5]
            chart = data_uri(year_lines(
                list(table.years), {r.name: [r.hectares.get(y) for y in table.years]
                                    for r in chosen},
                value_label=_("coca hectares"),
                source=_("Source: DEVIDA, coca crop monitoring; file {name} (SHA-256 "
                         "{sha}).", name=table.source, sha=table.sha256[:16])))
        out.append({
            "kind": table.kind, "source": table.source, "sha256": table.sha256,
            "years": list(table.years), "change_unit": table.change_unit, "chart": chart,
            "rows": [{"name": r.name, "mine": department_key(r.name) in mine,
                      "cells": [r.hectares.get(y) for y in table.years],
                      "change": r.change} for r in rows],
        })
    return out


def _loss(t: Trends) -> dict[str, Any] | None:
    if t.loss is None:
        return None
    years = list(t.loss_years)
    official = [sum(r.official_ha.get(y, 0.0) for r in t.loss_rows) for y in years]
    detected = [sum(r.detected_ha.get(y, 0.0) for r in t.loss_rows) for y in years]
    chart = None
    if t.loss_rows and years:
        chart = data_uri(paired_bars(
            years, official, detected,
            labels=(_("official forest loss (Geobosques)"), _("alerts detected by vigilancia")),
            value_label=_("hectares"),
            source=_("Sources: MINAM Geobosques, file {name} (SHA-256 {sha}); {files}.",
                     name=t.loss.source, sha=t.loss.sha256[:16],
                     files="; ".join(t.alert_sources) or "—")))
    return {
        "source": t.loss.source, "sha256": t.loss.sha256, "years": years, "chart": chart,
        "official": official, "detected": detected,
        "rows": [_loss_row(r, years) for r in t.loss_rows[:TOP]],
        "more": max(0, len(t.loss_rows) - TOP),
    }


def _loss_row(r: Any, years: list[int]) -> dict[str, Any]:
    official = [r.official_ha.get(y, 0.0) for y in years]
    detected = [r.detected_ha.get(y, 0.0) for y in years]
    total = sum(official)
    return {"ubigeo": r.ubigeo, "name": r.name, "department": r.department,
            "official": official, "detected": detected, "official_total": total,
            "detected_total": sum(detected),
            "share": sum(detected) / total if total > 0 else None}


def _units(units: Any) -> list[dict[str, Any]]:
    out = []
    for u in units[:TOP]:
        top = u.top_driver
        out.append({"kind": territory_kind_name(u.kind), "name": u.name,
                    "department": u.department or "", "ubigeo": u.ubigeo or "",
                    "clearings": u.clearings, "area": u.area_ha, "last": u.last_12_ha,
                    "previous": u.previous_12_ha,
                    "driver": "—" if top is None else _driver_label(top[0]),
                    "share": None if top is None else top[1]})
    return out


def _context(t: Trends, issue: Issue) -> dict[str, Any]:
    totals: dict[str, float] = {}
    for m in t.months:
        for k, v in m.area_by_driver.items():
            totals[k] = totals.get(k, 0.0) + v
    total_ha = sum(totals.values())
    period = t.period
    return {
        "lang": t.language, "title": t.title, "organisation": t.organisation,
        "period": None if period is None else (month_name(period[0].year, period[0].month),
                                               month_name(period[1].year, period[1].month)),
        "clearings": sum(m.clearings for m in t.months), "total_ha": total_ha,
        "last_12": sum(u.last_12_ha for u in t.districts) if t.districts
        else sum(u.last_12_ha for u in t.territories),
        "previous_12": sum(u.previous_12_ha for u in t.districts) if t.districts
        else sum(u.previous_12_ha for u in t.territories),
        "monthly": _monthly(t),
        "drivers": [{"name": _driver_label(k), "area": v,
                     "share": v / total_ha if total_ha else 0.0}
                    for k, v in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))],
        "districts": _units(t.districts), "n_districts": len(t.districts),
        "territories": _units(t.territories), "n_territories": len(t.territories),
        "risk": [{"rank": r.rank, "name": r.name, "cls": class_name(r.risk_class),
                  "score": r.score, "explanation": r.explanation} for r in t.risk],
        "risk_as_of": t.risk_as_of, "risk_unit": t.risk_unit,
        "departments": list(t.departments), "coca": _coca(t), "loss": _loss(t),
        "sources": t.alert_sources, "outside": t.outside,
        "issue": issue, "content_hash": content_hash(t.content()),
        "content_name": CONTENT_NAME,
    }


def trends_html(t: Trends, issue: Issue) -> str:
    """The report as one HTML page."""
    with language(t.language):
        return render_template(None, "trends.html.j2", _context(t, issue))


def render_trends(t: Trends, issue: Issue) -> bytes:
    """The PDF of the regional trends report (its content document embedded)."""
    html = trends_html(t, issue)
    return write_pdf(html, issued_at=issue.issued_at, identifier=content_hash(t.content()),
                     attachments=[(CONTENT_NAME, content_bytes(t.content()),
                                   "content document; its SHA-256 is the content hash")])
