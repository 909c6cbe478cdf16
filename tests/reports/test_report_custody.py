"""Reports and the custody log: every report prints the chain head at the time it was
made and is recorded as a ``report`` entry holding its content hash and the file's
SHA-256; the case report lists its case's entries as they stood at issue, without the
people who made them."""

from __future__ import annotations

from datetime import UTC, datetime

from pdf_checks import flat, pdf_text, sha256
from report_world import COORDINATOR, MONITOR, SETTINGS

from vigilancia.reports.bulletin import render_bulletin_html
from vigilancia.reports.case_report import render_case_report
from vigilancia.services import custody
from vigilancia.services.bulletin import bulletin
from vigilancia.services.case_report import case_report
from vigilancia.services.reporting import content_hash, issue_report


def test_report_entries_and_the_printed_chain_head(world, pdf_tools, tmp_path):
    store = world.store
    report = case_report(store, SETTINGS, world.case_code, imagery="none")
    # the photos' intake entries are the case's custody log
    logged = {s for line in report.custody if line.action == "intake" for s in line.sha256s}
    assert set(world.photos.values()) | {world.drone_sha} <= logged
    head = custody.chain_head(store)
    res, data = issue_report(store, SETTINGS, report, render=render_case_report,
                             output=tmp_path / "informe.pdf", actor=COORDINATOR,
                             now=datetime(2024, 11, 5, tzinfo=UTC))
    assert (res.issue.chain_seq, res.issue.chain_hash) == (head.seq, head.hash)
    entry = custody.custody_log(store)[-1]
    assert entry.seq == res.custody_seq == head.seq + 1 and entry.action == "report"
    assert entry.case_id == world.case_id and entry.actor == COORDINATOR
    assert tuple(entry.sha256s) == (res.content_hash, sha256(data))
    text = flat(pdf_text(res.path, layout=False))
    assert head.hash in text and res.content_hash in text
    assert MONITOR not in text and COORDINATOR not in text
    # the next report sees the new head and lists the first report's entry; its
    # content (and hash) is the same
    again = case_report(store, SETTINGS, world.case_code, imagery="none")
    assert content_hash(again.content()) == res.content_hash
    second, _ = issue_report(store, SETTINGS, again, render=render_case_report,
                             output=tmp_path / "otra.pdf", actor=COORDINATOR)
    assert second.issue.chain_seq == entry.seq and second.issue.chain_hash == entry.entry_hash
    assert entry.entry_hash[:16] in flat(pdf_text(second.path, layout=False))


def test_bulletin_entries_name_no_case(world):
    b = bulletin(world.store, SETTINGS, territory=world.territory,
                 month=datetime(2024, 10, 1).date())
    res, data = issue_report(world.store, SETTINGS, b, render=render_bulletin_html,
                             output=None, actor=COORDINATOR, fmt="html")
    entry = custody.custody_log(world.store)[-1]
    assert entry.action == "report" and entry.case_id is None
    assert tuple(entry.sha256s) == (res.content_hash, sha256(data)) and res.path is None
