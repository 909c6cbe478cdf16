"""``/api/cases``: list, show, change status or verdict, assign, through the case services.

Every change goes to the case's history (``case_events``) with the account's name and
the time, as ``vigilancia cases update`` does from the command line.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field
from starlette.responses import Response

from vigilancia.services.cases import (
    assign_cases,
    list_cases,
    parse_case_id,
    parse_status,
    parse_verdict,
    show_case,
    update_case,
)
from vigilancia.web.deps import Body, Ctx, context, respond

router = APIRouter(prefix="/api/cases", tags=["cases"])

CaseRef = Annotated[str, Path(min_length=1, max_length=16, pattern=r"^[Cc]?-?\d{1,9}$",
                              description="C-0042 or 42.")]


@router.get("", summary="Cases, highest priority first")
def cases(
    territory: Annotated[str | None, Query(max_length=200, description="Name or id.")] = None,
    status: Annotated[list[str] | None, Query(max_length=8)] = None,
    open_only: Annotated[bool, Query(alias="open")] = False,
    ctx: Ctx = Depends(context),
) -> Response:
    """Cases of one territory (or all), filtered by status; monitors' names only for the
    roles that see them."""
    wanted = [parse_status(s) for s in status] if status else None
    return respond(list_cases(ctx.store, territory=territory, statuses=wanted,
                              open_only=open_only, disclosure=ctx.disclosure))


@router.get("/{case}", summary="One case: clearings, history, observations, evidence")
def case(case: CaseRef, ctx: Ctx = Depends(context)) -> Response:
    """The case with its clearings, full history, observations and evidence files."""
    return respond(show_case(ctx.store, parse_case_id(case), disclosure=ctx.disclosure))


class CaseChange(Body):
    """A change of status, a verdict of the visit, or a note (at least one)."""

    status: str | None = Field(None, max_length=32,
                               description="new, assigned, in_field, reported, closed, "
                               "dismissed (verified comes with a verdict).")
    verdict: str | None = Field(None, max_length=64,
                                description="coca_confirmed, airstrip_confirmed, mining, "
                                "logging, road, agriculture, natural_cause, false_alarm, "
                                "not_reached.")
    note: str | None = Field(None, max_length=4000)
    observed: date | None = Field(None, description="Date of the visit.")


@router.patch("/{case}", summary="Change a case's status, record its verdict or a note")
def change(case: CaseRef, body: CaseChange, ctx: Ctx = Depends(context)) -> Response:
    """Moves the case through its status machine (refused moves are 409) and records
    who and when in its history."""
    return respond(update_case(
        ctx.store, parse_case_id(case), actor=ctx.actor,
        status=None if body.status is None else parse_status(body.status),
        verdict=None if body.verdict is None else parse_verdict(body.verdict),
        note=body.note, observed_at=body.observed))


class Assignment(Body):
    """Who will visit the case."""

    assignee: str = Field(min_length=1, max_length=200,
                          description="A monitor or patrol team.")


@router.post("/{case}/assignment", summary="Assign a case to a monitor or team")
def assign(case: CaseRef, body: Assignment, ctx: Ctx = Depends(context)) -> Response:
    """Assigns the case (a new case becomes assigned); recorded in its history."""
    (changed,) = assign_cases(ctx.store, [parse_case_id(case)], assignee=body.assignee.strip()
                              or body.assignee, actor=ctx.actor)
    return respond(changed)
