"""The case report as PDF: :class:`~vigilancia.services.case_report.CaseReport` and its
:class:`~vigilancia.services.reporting.Issue` in, PDF bytes out.

The pages (A4), in the report's language:

1. the heading (organisation, title, addressee, date of issue), the addressee's
   salutation, a summary of the case and the location map (the case in red, every
   community territory, reserve, protected area and district named, rivers and roads,
   scale bar and north arrow);
2. where: coordinates in decimal degrees, DMS and UTM, the district, the overview map of
   the region and the map of the case's surroundings (its clearings numbered, drone
   footprints and field observations), and the overlaps in ha and %;
3. what: the alert products and files, the alert dates and pixels by confidence, the
   likely driver with its reasons and model, each clearing, and the images before and
   after (with the case's outline) or the note that says why there are none;
4. the patrol: who went (a team, never a person), the verdict and notes, the field
   records and the photos (thumbnails, each with the SHA-256 of its original, time and
   position);
5. the custody log of the case as it stood at issue (its entries up to the chain head the
   report prints), the legal references and signature of the addressee's template, and
   the issue: content hash, chain head at issue, time and software.

The addressee's parts come from ``destinatarios/<addressee>.<language>.html.j2``: the
workspace's ``plantillas`` folder first, then the packaged one (see
:mod:`vigilancia.reports.document`). The PDF embeds the content document
(``contenido.json``) whose SHA-256 is the content hash it prints.
"""

from __future__ import annotations

import math
from typing import Any

from vigilancia.i18n import _, language, number
from vigilancia.reports.cartography import CASE_COLOUR, CASE_EDGE, png_bytes, render_view
from vigilancia.reports.document import data_uri, write_pdf
from vigilancia.services.case_report import CaseReport
from vigilancia.services.reporting import Issue, content_bytes, content_hash
from vigilancia.services.texts.cases import status_name, verdict_name
from vigilancia.services.texts.drivers import driver_name, reason_text
from vigilancia.services.texts.reports import (
    action_name,
    addressee_name,
    observation_kind_name,
    role_name,
    tenure_name,
    territory_kind_name,
)

__all__ = ["CONTENT_NAME", "render_case_report", "report_html"]

#: Name of the content document embedded in every report's PDF.
CONTENT_NAME = "contenido.json"


def _chip_png(chip: Any, outline: Any) -> bytes:
    """An image chip with the case's outline in the case colour (when georeferenced)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from vigilancia.reports.cartography import fill

    h, w = chip.rgb.shape[:2]
    fig = Figure(figsize=(w / 100.0, h / 100.0))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    if chip.bounds is None:
        ax.imshow(chip.rgb, interpolation="nearest")
    else:
        x0, y0, x1, y1 = chip.bounds
        ax.imshow(chip.rgb, extent=(x0, x1, y0, y1), interpolation="nearest", origin="upper")
        fill(ax, outline, facecolor="none", edgecolor=CASE_COLOUR, lw=1.6, zorder=5)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("auto")
    return png_bytes(fig, dpi=100)


def _coords(r: CaseReport) -> dict[str, str]:
    c = r.coordinates
    return {
        "dd": f"{c.lat:.6f}, {c.lon:.6f}",
        "dms": f"{c.lat_dms}, {c.lon_dms}",
        "utm": _("zone {zone}{hemisphere}: {e} E, {n} N (WGS 84, EPSG:{epsg})",
                 zone=c.utm_zone, hemisphere=c.utm_hemisphere, e=number(c.easting),
                 n=number(c.northing), epsg=c.utm_epsg),
    }


def _confidence(r: CaseReport) -> str:
    low, high, highest = r.pixels
    total = low + high + highest
    if not r.clearings:
        return "—"
    if total == 0:
        return _("not given by the product (validated alerts)")
    return _("{total} alert pixels: {low} low, {high} high, {highest} highest confidence",
             total=number(total), low=number(low), high=number(high), highest=number(highest))


def _driver(r: CaseReport) -> dict[str, Any] | None:
    d = r.driver
    if d is None:
        return None
    model = d.model_version or "—"
    if d.model_kind:
        model = _("{version} ({kind})", version=model, kind=d.model_kind)
    if d.model_labels:
        model += " · " + _("trained on {n} field labels", n=number(d.model_labels))
    return {
        "name": driver_name(d.driver),
        "probability": d.probability,
        "others": ", ".join(f"{driver_name(k)} {number(100 * p)} %" for k, p in d.others),
        "reasons": [reason_text(x) for x in d.reasons],
        "model": model,
    }


def _photos(r: CaseReport) -> list[dict[str, Any]]:
    out = []
    for p in r.photos:
        where = "—" if p.lat is None or p.lon is None else f"{p.lat:.6f}, {p.lon:.6f}"
        extra = None
        if p.drone:
            extra = _("drone photo") + (
                "" if p.altitude_m is None else " · " + _("{m} m above take-off",
                                                          m=number(p.altitude_m)))
            if p.footprint is not None:
                extra += " · " + _("footprint on the detail map")
        out.append({"uri": None if p.thumbnail is None else data_uri(p.thumbnail, "image/jpeg"),
                    "name": p.name, "sha256": p.sha256, "taken": p.taken_at, "where": where,
                    "extra": extra, "missing": p.missing})
    return out


def _images(r: CaseReport) -> list[dict[str, Any]]:
    out = []
    for c in r.imagery.chips:
        parts = [role_name(c.role)]
        if c.acquired is not None:
            parts.append(c.acquired.date().isoformat())
        if c.origin == "file":
            parts.append(_("file {name}", name=c.file_name or ""))
        else:
            if c.platform:
                parts.append(c.platform.replace("sentinel-", "Sentinel-").upper()
                             if c.platform.startswith("S") else c.platform.title())
            if c.cloud_cover is not None:
                parts.append(_("{p} % clouds in the scene", p=number(c.cloud_cover)))
        out.append({"uri": data_uri(_chip_png(c.chip, r.case.shape)), "caption": " · ".join(parts),
                    "item": c.item_id, "file_sha256": c.file_sha256,
                    "pixels_sha256": c.chip.sha256})
    return out


def _context(r: CaseReport, issue: Issue) -> dict[str, Any]:
    c = r.case
    t = r.territory
    chash = content_hash(r.content())
    maps = {
        "location": data_uri(render_view(r.location_map, width_mm=178, height_mm=128,
                                         focus_label=_("Case {case}", case=c.code))),
        "overview": data_uri(render_view(r.overview_map, width_mm=86, height_mm=86,
                                         focus_label=_("Case {case}", case=c.code),
                                         legend=False, fontscale=0.8)),
        "detail": data_uri(render_view(r.detail_map, width_mm=86, height_mm=86,
                                       focus_label=_("Clearings of the case"), marker=False,
                                       fontscale=0.8)),
    }
    overlaps = [{"kind": territory_kind_name(o.kind), "code": o.kind, "name": o.name,
                 "people": o.people or "—",
                 "tenure": "—" if o.tenure is None else tenure_name(o.tenure),
                 "area": o.area_ha, "share": o.share} for o in r.overlaps]
    observations = [{"id": o.id, "kind": observation_kind_name(o.kind), "app": o.source_format,
                     "record": o.record_id, "time": o.observed_at,
                     "where": "—" if o.lat is None or o.lon is None
                     else f"{o.lat:.6f}, {o.lon:.6f}",
                     "distance": o.distance_m, "verdict": verdict_name(o.verdict) or "—",
                     "notes": o.notes or "", "files": o.files} for o in r.observations]
    # the log as it stood at issue: the entries up to the chain head the report prints
    head = -1 if issue.chain_seq is None else issue.chain_seq
    custody = [{"seq": e.seq, "at": e.at, "action": action_name(e.action),
                "sha256s": list(e.sha256s), "reason": e.reason, "recipient": e.recipient,
                "entry_hash": e.entry_hash, "key_id": e.key_id}
               for e in r.custody if e.seq <= head]
    times = [o.observed_at for o in r.observations if o.observed_at is not None]
    reported_on = min(times) if times else c.created_at
    days = None
    if c.first_alert and c.last_alert:
        days = (c.last_alert - c.first_alert).days
    return {
        "lang": r.language,
        "title": r.title,
        "organisation": r.organisation,
        "case": c,
        "code": c.code,
        "status": status_name(c.status),
        "addressee": r.addressee,
        "addressee_name": addressee_name(r.addressee),
        "territory": t,
        "territory_kind": None if t is None else territory_kind_name(t.kind),
        "tenure": None if t is None else tenure_name(t.tenure),
        "place": r.place,
        "coords": _coords(r),
        "area_ha": c.area_ha,
        "n_clearings": len(r.clearings),
        "first_alert": c.first_alert,
        "last_alert": c.last_alert,
        "days": days,
        "reported_on": reported_on,
        "products": ", ".join(r.products) or "—",
        "sources": ", ".join(r.sources) or "—",
        "confidence": _confidence(r),
        "driver": _driver(r),
        "clearings": [{"id": x.id, "product": x.product, "first": x.first_date,
                       "last": x.last_date, "area": x.area_ha,
                       "driver": "—" if x.driver is None else driver_name(x.driver),
                       "p": x.driver_probability} for x in r.clearings],
        "overlaps": overlaps,
        "maps": maps,
        "images": _images(r),
        "imagery_note": r.imagery.note,
        "imagery_source": r.imagery.stac_url,
        "patrol": r.patrol,
        "verdict": verdict_name(r.patrol.verdict) if r.patrol.verdict else None,
        "observations": observations,
        "photos": _photos(r),
        "custody": custody,
        "issue": issue,
        "content_hash": chash,
        "content_name": CONTENT_NAME,
        "case_colour": CASE_COLOUR,
        "case_edge": CASE_EDGE,
        "addressee_template": f"destinatarios/{r.addressee}.{r.language}.html.j2",
        "math": math,
    }


def report_html(r: CaseReport, issue: Issue) -> str:
    """The report as one HTML page (images inside as ``data:`` URIs)."""
    from vigilancia.reports.document import render_template

    with language(r.language):
        return render_template(r.templates, "case.html.j2", _context(r, issue))


def render_case_report(r: CaseReport, issue: Issue) -> bytes:
    """The PDF of the case report (see the module text)."""
    html = report_html(r, issue)
    data = content_bytes(r.content())
    return write_pdf(html, issued_at=issue.issued_at, identifier=content_hash(r.content()),
                     attachments=[(CONTENT_NAME, data,
                                   "content document; its SHA-256 is the content hash")])
