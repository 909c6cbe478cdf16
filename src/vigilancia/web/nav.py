"""The pages' main menu: each entry is shown to the roles the policy table lets open it.

An entry whose page is not in the policy table (or not yet in the app) is shown to
nobody, so the menu never offers a page that would refuse the visitor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from vigilancia.i18n import _
from vigilancia.results import to_json
from vigilancia.services.accounts import SessionInfo
from vigilancia.web.policy import rule_for

__all__ = ["NAV", "NavItem", "may", "nav_items", "page_json"]


@dataclass(frozen=True)
class NavItem:
    """One entry of the menu: its address and its label (in the current language)."""

    href: str
    label: Callable[[], str]

    def current(self, path: str) -> bool:
        """Whether ``path`` is this entry's page or one below it."""
        if self.href == "/":
            return path == "/" or path.startswith("/territorios/")
        return path == self.href or path.startswith(self.href + "/")


NAV: tuple[NavItem, ...] = (
    NavItem("/", lambda: _("Map")),
    NavItem("/casos", lambda: _("Cases")),
    NavItem("/patrullas", lambda: _("Patrols")),
    NavItem("/campo", lambda: _("Field data")),
    NavItem("/monitoreo", lambda: _("Monitoring")),
)


def nav_items(session: SessionInfo | None) -> list[NavItem]:
    """The entries ``session``'s role may open (none when anonymous)."""
    if session is None:
        return []
    return [item for item in NAV if may(session, "GET", item.href)]


def may(session: SessionInfo | None, method: str, path: str) -> bool:
    """Whether ``session``'s role may call the route ``method path`` (a path template of
    the policy table): the pages hide the controls a role may not use (the server
    refuses them anyway)."""
    rule = rule_for(method, path)
    return rule is not None and rule.allows(None if session is None else session.role)


def page_json(value: Any) -> Markup:
    """``value`` as JSON for a ``<script type="application/json">`` block of a page (the
    results' JSON; ``<``, ``>`` and ``&`` escaped so that no text closes the block)."""
    text = to_json(value, indent=None)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e")  # noqa: S704
                  .replace("&", "\\u0026"))
