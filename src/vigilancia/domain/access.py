"""Who may see what: the roles of a team's accounts and how much of the sensitive data each sees.

PURE: stdlib only. A workspace served to a team (``vigilancia serve``) has accounts,
each with one :class:`Role`. What each role may *do* is the web app's policy table
(``vigilancia.web.policy``); what each role may *see* of the most dangerous facts the
programme holds is decided here, once, so that every service that returns them
redacts them the same way (:class:`Disclosure`):

============  ========  ==============================================  ========
role          monitors' field observations' exact points and tracks     patrol
              names                                                     plans
============  ========  ==============================================  ========
admin         yes       yes                                             yes
coordinator   yes       yes                                             yes
monitor       yes       no: snapped to a fixed grid cell, no track lines yes
analyst       no        no: snapped to a fixed grid cell, no track lines no
viewer        no        no: snapped to a fixed grid cell, no track lines no
============  ========  ==============================================  ========

- *Monitors' names* are the people a case is assigned to, the people who made each
  change in a case's history (a user name, or ``import:<file>`` for field files),
  and the authors of field observations. A monitor sees them because a monitor
  group's focal point must know which cases are their team's; analysts and viewers
  (support organisations, authorities) never need them.
- *Patrol plans* say where patrols will go: the coordinators who plan them and the
  monitors who walk them see them.
- *Exact points and tracks* of field observations say where patrols went and when:
  only the coordinators who plan patrols see them. Every other role gets the centre
  of the fixed grid cell (``Disclosure.cell_deg`` degrees, ``VIGILANCIA_REPORT_CELL_DEG``:
  0.01°, about 1.1 km) the point falls in
  (:func:`~vigilancia.domain.cases.snap_to_grid`): the same cell every time, never a
  jitter drawn afresh, so two outputs cannot be averaged back to the point. A case
  opened by a field report sits where a monitor stood: it is shown the same way
  (:func:`~vigilancia.domain.cases.shared_position`).

The command line works on the workspace directly and sees everything (:data:`FULL`).

>>> Role.parse("Coordinador"), disclosure_for(Role.ANALYST).people
(<Role.COORDINATOR: 'coordinator'>, False)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "FULL",
    "ROLE_ALIASES",
    "Disclosure",
    "Role",
    "disclosure_for",
]


class Role(StrEnum):
    """What an account is for (see the module text)."""

    ADMIN = "admin"  # manages accounts; everything a coordinator does
    COORDINATOR = "coordinator"  # runs the monitoring cycle, assigns cases, plans patrols
    MONITOR = "monitor"  # a monitor group's focal point: field data and its own cases
    ANALYST = "analyst"  # regional analyses: reads everything but people and exact points
    VIEWER = "viewer"  # reads the map, the cases and the reports

    @classmethod
    def parse(cls, text: str | Role) -> Role:
        """A role from its code or its Spanish name (``coordinador``, ``monitor``...).

        Raises ``ValueError`` for anything else.
        """
        if isinstance(text, Role):
            return text
        key = str(text).strip().lower()
        if key in ROLE_ALIASES:
            return ROLE_ALIASES[key]
        raise ValueError(f"unknown role {text!r}")


#: Every code and Spanish name of each role (lower case).
ROLE_ALIASES: dict[str, Role] = {
    **{r.value: r for r in Role},
    "administrador": Role.ADMIN,
    "administradora": Role.ADMIN,
    "coordinador": Role.COORDINATOR,
    "coordinadora": Role.COORDINATOR,
    "monitora": Role.MONITOR,
    "analista": Role.ANALYST,
    "lector": Role.VIEWER,
    "lectora": Role.VIEWER,
}


@dataclass(frozen=True)
class Disclosure:
    """How much of the sensitive data a reader sees (see the module text).

    ``people``: monitors' names (assignees, who changed a case, authors);
    ``exact_points``: field observations' exact points and their tracks;
    ``patrols``: the patrol plans (where and when patrols will go); ``cell_deg``: the
    grid cell (degrees) that the points a reader may not see exactly are snapped to.
    """

    people: bool
    exact_points: bool
    patrols: bool = False
    cell_deg: float = 0.01


#: Everything: the command line, admins and coordinators.
FULL = Disclosure(people=True, exact_points=True, patrols=True)

_DISCLOSURE = {
    Role.ADMIN: FULL,
    Role.COORDINATOR: FULL,
    Role.MONITOR: Disclosure(people=True, exact_points=False, patrols=True),
    Role.ANALYST: Disclosure(people=False, exact_points=False),
    Role.VIEWER: Disclosure(people=False, exact_points=False),
}


def disclosure_for(role: Role | str) -> Disclosure:
    """What ``role`` sees of the sensitive data (snapping to the default 0.01° cell; the
    web app sets the workspace's ``report_cell_deg``)."""
    return _DISCLOSURE[Role(role)]
