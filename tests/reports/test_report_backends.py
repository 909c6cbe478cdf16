"""The reports read the same from SQLite and PostgreSQL: a world built on each backend
gives each report the same content (custody entries aside: their times and hashes belong
to each build)."""

from __future__ import annotations

from datetime import date

from report_world import SETTINGS, build_world

from vigilancia.services.bulletin import bulletin
from vigilancia.services.case_report import case_report
from vigilancia.services.trends import trends


def _without_custody(content: dict) -> dict:
    return {k: v for k, v in content.items() if k != "custody"}


def test_each_backend_gives_the_same_reports(store_factory, tmp_path, world):
    store = store_factory.create(tmp_path / "ws", name=world.store.name)
    try:
        here = build_world(tmp_path, store=store)
        assert here.case_code == world.case_code and here.photos == world.photos
        for mine, theirs in (
            (case_report(store, SETTINGS, here.case_code, imagery="none"),
             case_report(world.store, SETTINGS, world.case_code, imagery="none")),
            (bulletin(store, SETTINGS, territory=here.territory, month=date(2024, 10, 1)),
             bulletin(world.store, SETTINGS, territory=world.territory,
                      month=date(2024, 10, 1))),
            (trends(store, SETTINGS), trends(world.store, SETTINGS)),
        ):
            assert _without_custody(mine.content()) == _without_custody(theirs.content())
    finally:
        store.close()
