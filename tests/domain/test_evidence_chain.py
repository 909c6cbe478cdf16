"""The custody chain, pure: entries, their canonical hash, and what a check of a stored log
names after each kind of tampering, wherever it happens (Hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigilancia.domain.evidence import (
    GENESIS_HASH,
    ChainProblem,
    CustodyAction,
    SignatureState,
    canonical_bytes,
    check_chain,
    entry_from_dict,
    entry_hash,
    make_entry,
)

KEY = "0123456789abcdef"
T0 = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def chain(n: int):
    out, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        e = make_entry(seq, T0 + timedelta(seconds=seq), actor="ana",
                       action=CustodyAction.INTAKE, case_id=seq % 3 or None,
                       sha256s=[f"{seq:064x}"], reason=f"importación {seq}",
                       prev_hash=prev, key_id=KEY)
        e = replace(e, signature=f"sig:{e.entry_hash}")  # a stand-in the checker below accepts
        out.append(e)
        prev = e.entry_hash
    return out


def signed(e, data: bytes) -> SignatureState:
    assert data == e.signed_bytes()
    if e.key_id != KEY:
        return SignatureState.FOREIGN_KEY
    return SignatureState.OK if e.signature == f"sig:{entry_hash(e.content())}" \
        else SignatureState.BAD


def check(rows, head):
    return [(f.kind, f.seq, f.other) for f in check_chain(rows, signature_ok=signed, head=head)]


def head_of(rows):
    return rows[-1].seq, rows[-1].entry_hash


def test_the_hash_covers_every_field_and_reads_back_from_its_dict():
    (e,) = chain(1)
    assert e.entry_hash == entry_hash(e.content())
    assert entry_from_dict(e.to_dict()) == e
    for field, value in [("actor", "otra"), ("reason", "x"), ("case_id", 9), ("seq", 2),
                         ("at", T0), ("sha256s", ("f" * 64,)), ("prev_hash", "1" * 64),
                         ("key_id", "f" * 16), ("recipient", "Fiscalía"), ("action", "export")]:
        assert entry_hash(replace(e, **{field: value}).content()) != e.entry_hash, field
    assert canonical_bytes({"b": [1, "é"], "a": None}) == '{"a":null,"b":[1,"é"]}'.encode()


def test_entries_refuse_what_is_not_a_hash_or_has_no_who_or_why():
    with pytest.raises(ValueError):
        make_entry(1, T0, actor="a", action="intake", case_id=None, sha256s=["xyz"],
                   reason="r", prev_hash=GENESIS_HASH, key_id=KEY)
    with pytest.raises(ValueError):
        make_entry(1, T0, actor=" ", action="intake", case_id=None, sha256s=[], reason="r",
                   prev_hash=GENESIS_HASH, key_id=KEY)
    with pytest.raises(ValueError):
        make_entry(1, T0, actor="a", action="borrar", case_id=None, sha256s=[], reason="r",
                   prev_hash=GENESIS_HASH, key_id=KEY)
    twice = make_entry(1, T0, actor="a", action="intake", case_id=None,
                       sha256s=["A" * 64, "a" * 64], reason="r", prev_hash=GENESIS_HASH,
                       key_id=KEY)
    assert twice.sha256s == ("a" * 64,)


def test_a_clean_log_has_no_findings():
    rows = chain(6)
    assert check(rows, head_of(rows)) == []
    assert check([], None) == []


@given(st.integers(2, 30).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.integers(1, n), min_size=2, max_size=2, unique=True))))
def test_two_swapped_entries_are_named_together(case):
    n, (a, b) = case
    a, b = sorted((a, b))
    rows = chain(n)
    head = head_of(rows)
    rows[a - 1], rows[b - 1] = replace(rows[b - 1], seq=a), replace(rows[a - 1], seq=b)
    assert check(rows, head) == [(ChainProblem.REORDERED, a, b)]


@given(st.integers(1, 30).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n))))
def test_a_deleted_entry_is_named(case):
    n, k = case
    rows = chain(n)
    head = head_of(rows)
    del rows[k - 1]
    assert check(rows, head) == [(ChainProblem.MISSING, k, None)]


@given(st.integers(1, 30).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n))),
       st.sampled_from(["actor", "reason", "case_id", "at"]))
def test_an_edited_entry_is_named(case, field):
    n, k = case
    rows = chain(n)
    head = head_of(rows)
    value = {"actor": "otra", "reason": "nada", "case_id": 77, "at": T0}[field]
    rows[k - 1] = replace(rows[k - 1], **{field: value})
    assert check(rows, head) == [(ChainProblem.ALTERED, k, None)]


@given(st.integers(1, 30).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n))),
       st.booleans())
def test_an_entry_re_signed_with_another_key_is_named(case, keep_key_id):
    n, k = case
    rows = chain(n)
    head = head_of(rows)
    forged = replace(rows[k - 1], reason="entregado a nadie",
                     key_id=KEY if keep_key_id else "f" * 16)
    forged = replace(forged, entry_hash=entry_hash(forged.content()), signature="forged")
    rows[k - 1] = forged
    kind = ChainProblem.BAD_SIGNATURE if keep_key_id else ChainProblem.FOREIGN_KEY
    found = check(rows, head)
    assert found[0] == (kind, k, None)
    # the last entry was the head: the recorded head no longer matches it, silently
    # explained by the finding above
    assert found == [(kind, k, None)]


def test_an_entry_moved_elsewhere_a_copy_and_an_unrecorded_one_are_named():
    rows = chain(5)
    head = head_of(rows)
    moved = rows[:1] + rows[2:] + [replace(rows[1], seq=9)]  # entry 2 stored at place 9
    assert check(moved, head) == [(ChainProblem.REORDERED, 2, 9)]
    copied = rows + [replace(rows[1], seq=6)]
    assert check(copied, head) == [(ChainProblem.DUPLICATE, 2, 6)]
    extra = chain(6)
    assert check(extra, head) == [(ChainProblem.UNRECORDED, 6, 5)]
    assert check(rows[:-1], head) == [(ChainProblem.MISSING, 5, None)]  # the last one
    assert check(rows, None) == [(ChainProblem.HEAD_MISMATCH, None, None)]
    assert check(rows, (5, "0" * 64)) == [(ChainProblem.HEAD_MISMATCH, 5, None)]


def test_an_inserted_entry_breaks_the_link_after_it():
    rows = chain(4)
    head = head_of(rows)
    # an entry forged with the right key (a stolen key) in place of entry 3, not linked
    forged = make_entry(3, T0, actor="x", action="handover", case_id=1, sha256s=[],
                        reason="r", prev_hash="1" * 64, key_id=KEY)
    forged = replace(forged, signature=f"sig:{forged.entry_hash}")
    rows[2] = forged
    found = check(rows, head)
    assert (ChainProblem.BROKEN_LINK, 3, None) in found
    assert (ChainProblem.BROKEN_LINK, 4, None) in found
