"""What the web app's case page shows: the case (:func:`vigilancia.services.cases.show_case`,
cut to the reader's disclosure), its clearings as map features, the timeline in words,
the photos among its kept files, the statuses it may move to and the verdicts a visit
may record, the addressees of its report, and why it ranks where it does.

>>> view = case_page(store, "C-0004", disclosure=disclosure_for("viewer"))  # doctest: +SKIP
>>> [s for s, _name in view.next_statuses]  # doctest: +SKIP
['assigned', 'in_field', 'verified', 'dismissed']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import shapely

from vigilancia.config import Settings
from vigilancia.domain.access import FULL, Disclosure
from vigilancia.domain.cases import TRANSITIONS, CaseStatus
from vigilancia.domain.field import Verdict
from vigilancia.i18n import _, ngettext
from vigilancia.io.package.common import geojson_geometries
from vigilancia.io.store import WorkspaceStore
from vigilancia.results import jsonable
from vigilancia.services.case_report import ADDRESSEES, case_report
from vigilancia.services.cases import CaseDetail, show_case
from vigilancia.services.derived import is_picture
from vigilancia.services.reporting import IssuedReport, Renderer, issue_report
from vigilancia.services.texts.cases import priority_text, status_name, verdict_name
from vigilancia.services.texts.drivers import driver_name
from vigilancia.services.texts.reports import addressee_name, observation_kind_name

__all__ = ["CasePage", "CaseReportDownload", "case_page", "event_text", "issue_case_report"]


def event_text(event: dict[str, Any]) -> str:
    """One change of a case's history (its ``to_dict()`` form) in words."""
    action = event.get("action")
    detail = event.get("detail") or {}
    to = event.get("to")
    if action == "opened":
        n = detail.get("clearings")
        return _("Case opened") if not isinstance(n, int) else ngettext(
            "Case opened with {n} clearing", "Case opened with {n} clearings", n)
    if action == "clearings_added":
        added = detail.get("clearings") or []
        return ngettext("{n} clearing added", "{n} clearings added", len(added))
    if action == "territory_changed":
        return _("The territory of the case changed")
    if action == "track_passed":
        return _("A patrol track passed by the case")
    if action == "assigned":
        who = detail.get("assignee")
        return _("Assigned to {who}", who=who) if who else _("Assigned")
    if action == "verdict":
        verdict = detail.get("verdict")
        return _("Verdict of the visit: {verdict}",
                 verdict=verdict_name(verdict) if verdict else "?")
    if action == "observation":
        return _("Field record attached")
    if action == "note":
        return _("Note added")
    if action == "status" and to:
        return _("Status changed to {status}", status=status_name(to))
    return str(action or "")


@dataclass(frozen=True)
class CasePage:
    """The case page's content (see the module text). ``detail`` keeps the case as the
    service gives it; :meth:`to_dict` is what the reader may see."""

    detail: CaseDetail
    clearing_shapes: dict[int, Any]
    disclosure: Disclosure

    @property
    def status(self) -> CaseStatus:
        return self.detail.case.status

    @property
    def next_statuses(self) -> list[tuple[str, str]]:
        """The statuses the case may move to (code, name), "verified" last (it needs a
        verdict)."""
        allowed = [s for s in CaseStatus if s in TRANSITIONS[self.status] and s != self.status]
        return [(s.value, status_name(s)) for s in allowed]

    @property
    def verdicts(self) -> list[tuple[str, str]]:
        """The verdicts a visit may record (code, name), in the form's order."""
        return [(v.value, verdict_name(v)) for v in Verdict]

    @property
    def addressees(self) -> list[tuple[str, str]]:
        """Who a case report may be for (code, name)."""
        return [(a, addressee_name(a)) for a in ADDRESSEES]

    def to_dict(self) -> dict[str, Any]:
        """The case as the reader may see it (:meth:`CaseDetail.to_dict`) with, in words:
        ``status_name``, ``verdict_name``, ``driver_name``, ``priority_text``, the
        ``timeline`` (newest first, each with ``text``), the ``photos`` (kept pictures:
        name, SHA-256 of the original, size) and the clearings as a GeoJSON
        ``clearing_map``."""
        d: dict[str, Any] = jsonable(self.detail.to_dict())
        c = self.detail.case
        d["status_name"] = status_name(c.status)
        d["verdict_name"] = verdict_name(c.verdict) if c.verdict else None
        d["driver_name"] = driver_name(c.driver) if c.driver else None
        d["priority_text"] = (priority_text(c.priority_terms, c.driver)
                              if c.priority_terms else None)
        d["timeline"] = [e | {"text": event_text(e)} for e in reversed(d["history"])]
        for o in d["observations"]:
            o["kind_name"] = observation_kind_name(o.get("kind"))
            if o.get("verdict"):
                o["verdict_name"] = verdict_name(o["verdict"])
        d["photos"] = [f for f in d["evidence"]
                       if is_picture(str(f.get("name") or "")) or
                       is_picture(str(f.get("stored_path") or ""))]
        for f in d["evidence"]:
            f.pop("stored_path", None)  # where the original lies on the server: not shown
        items = [cl.to_dict() for cl in self.detail.clearings
                 if cl.id in self.clearing_shapes]
        shapes = geojson_geometries([self.clearing_shapes[cl["id"]] for cl in items])
        feats = [{"type": "Feature", "id": item["id"], "geometry": geom,
                  "properties": {**item, "driver_name": driver_name(item["driver"])
                                 if item.get("driver") else None}}
                 for item, geom in zip(items, shapes, strict=True)]
        d["clearing_map"] = {"type": "FeatureCollection", "features": feats}
        return d


def case_page(store: WorkspaceStore, case: str | int, *,
              disclosure: Disclosure = FULL) -> CasePage:
    """The case page of ``case`` (``C-0042``, ``42``);
    :class:`~vigilancia.errors.NotFoundError` when there is none."""
    detail = show_case(store, case, disclosure=disclosure)
    cols = store.clearings.columns(clearing_ids=list(detail.case.clearing_ids))
    shapes = {int(i): shapely.simplify(g, 0.00002, preserve_topology=True)
              for i, g in zip(cols.id.tolist(), cols.geometry.tolist(), strict=True)}
    return CasePage(detail, shapes, disclosure)


@dataclass(frozen=True)
class CaseReportDownload:
    """A case report issued for download: the PDF's bytes, a file name, and what was
    recorded (:class:`~vigilancia.services.reporting.IssuedReport`: content hash, the
    document's SHA-256, the custody log entry)."""

    data: bytes
    filename: str
    issued: IssuedReport

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the file name and the record, not the bytes)."""
        return {"filename": self.filename, "issued": self.issued}


def issue_case_report(store: WorkspaceStore, settings: Settings, case: str | int, *,
                      addressee: str, actor: str, render: Renderer, lang: str | None = None,
                      imagery: str = "none") -> CaseReportDownload:
    """Gather the case report of ``case`` for ``addressee``
    (:func:`vigilancia.services.case_report.case_report`), draw it with ``render`` and
    record it in the custody log (:func:`vigilancia.services.reporting.issue_report`),
    as ``vigilancia report case`` does; nothing is written to a file. ``imagery``:
    "none" (default: the server may be offline) or "auto" (a STAC search for images
    before and after)."""
    report = case_report(store, settings, case, addressee=addressee, lang=lang,
                         imagery=imagery)
    issued, data = issue_report(store, settings, report, render=render, output=None,
                                actor=actor)
    name = f"informe_C-{report.case_id:04d}_{addressee}.pdf" if report.language == "es" \
        else f"report_C-{report.case_id:04d}_{addressee}.pdf"
    return CaseReportDownload(data, name, issued)
