"""The custody chain of evidence: entries, their canonical encoding, and what a check finds.

PURE: stdlib only. Every hand the evidence passes through is one
:class:`CustodyEntry` of an append-only log: its number ``seq`` (1, 2, 3...), when
(UTC), who, what was done (:class:`CustodyAction`), the case, the SHA-256 of each
file it concerns, why, and to whom (a handover). Each entry names the hash of the
entry before it (``prev_hash``; the first names :data:`GENESIS_HASH`), so the log
is a hash chain: changing, removing or reordering any entry breaks it.

The entry's hash is the SHA-256 of its canonical encoding (:func:`canonical_bytes`):
JSON with sorted keys, no spaces, UTF-8, times as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``.
A signature (Ed25519, made and checked in :mod:`vigilancia.io.signing`) is taken
over :data:`ENTRY_SIGNING_PREFIX` followed by the same bytes; ``key_id`` names the
key. Anyone holding the public key can redo both without vigilancia: the README of
an exported bundle says how.

:func:`check_chain` reads a stored log (in the order of its ``seq`` column) and
names what is wrong with it: an entry whose content no longer matches its hash
(:attr:`ChainProblem.ALTERED`), one stored at another entry's place
(:attr:`~ChainProblem.REORDERED`), a missing one, a bad or foreign signature, a
link that does not follow, and a head that does not match the one recorded.

>>> at = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
>>> first = make_entry(1, at, actor="ana", action=CustodyAction.INTAKE, case_id=3,
...                    sha256s=["ab" * 32], reason="registro inicial",
...                    prev_hash=GENESIS_HASH, key_id="0123456789abcdef")
>>> first.entry_hash == entry_hash(first.content())
True
>>> canonical_bytes({"b": 1, "a": "ñ"})
b'{"a":"\\xc3\\xb1","b":1}'
>>> [f.kind for f in check_chain([first], signature_ok=lambda e, b: SignatureState.OK,
...                               head=(1, first.entry_hash))]
[]
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

__all__ = [
    "ENTRY_SIGNING_PREFIX",
    "FORMAT_VERSION",
    "GENESIS_HASH",
    "HEAD_SIGNING_PREFIX",
    "MANIFEST_SIGNING_PREFIX",
    "ChainFinding",
    "ChainProblem",
    "CopyKind",
    "CustodyAction",
    "CustodyEntry",
    "SignatureState",
    "canonical_bytes",
    "check_chain",
    "entry_from_dict",
    "entry_hash",
    "format_at",
    "head_message",
    "make_entry",
    "parse_at",
    "sha256_hex",
]

#: The ``prev_hash`` of the first entry of every log.
GENESIS_HASH = "0" * 64
#: Version of the canonical encoding (the ``v`` field of each entry).
FORMAT_VERSION = 1
#: What an entry's signature is taken over: this, then the entry's canonical bytes.
ENTRY_SIGNING_PREFIX = b"vigilancia custody entry v1\n"
#: What the signature of the log's recorded head is taken over: this, then "seq hash".
HEAD_SIGNING_PREFIX = b"vigilancia custody head v1\n"
#: What the signature of an exported bundle's manifest is taken over: this, then its bytes.
MANIFEST_SIGNING_PREFIX = b"vigilancia evidence bundle v1\n"

_HEX = frozenset("0123456789abcdef")


class CustodyAction(StrEnum):
    """What an entry records."""

    INTAKE = "intake"  # a field file kept as evidence
    DERIVED = "derived"  # a copy made from an original (resized, metadata stripped)
    EXPORT = "export"  # a case's evidence written to a bundle
    REPORT = "report"  # a report made from the evidence (its content hash)
    HANDOVER = "handover"  # evidence handed to someone (a prosecutor, the police...)


class CopyKind(StrEnum):
    """What a copy made from a kept photo is for (both carry no metadata)."""

    RESIZED = "resized"  # smaller, for reports and the web
    STRIPPED = "stripped"  # full size, to share


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data`` as 64 lowercase hex digits."""
    return hashlib.sha256(data).hexdigest()


def format_at(at: datetime) -> str:
    """A time as the log writes it: UTC, microseconds, ``Z``.

    >>> format_at(datetime(2024, 6, 1, 7, 0, tzinfo=UTC))
    '2024-06-01T07:00:00.000000Z'
    """
    if at.tzinfo is None:
        raise ValueError("custody times must carry a time zone")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_at(text: str) -> datetime:
    """The time :func:`format_at` wrote (UTC); ``ValueError`` for other text.

    >>> parse_at("2024-06-01T07:00:00.000000Z").isoformat()
    '2024-06-01T07:00:00+00:00'
    """
    if not text.endswith("Z"):
        raise ValueError(f"not a custody time: {text!r}")
    return datetime.fromisoformat(text).astimezone(UTC)


def canonical_bytes(content: Mapping[str, Any]) -> bytes:
    """The canonical encoding of an entry's content: sorted keys, no spaces, UTF-8."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def entry_hash(content: Mapping[str, Any]) -> str:
    """The hash of an entry: SHA-256 of its canonical encoding (hex)."""
    return sha256_hex(canonical_bytes(content))


def _text(value: str) -> str:
    return unicodedata.normalize("NFC", value)


@dataclass(frozen=True)
class CustodyEntry:
    """One entry of the custody log (see the module text).

    ``at`` is UTC; ``sha256s`` the files (or report contents) it concerns, in the
    order written; ``recipient`` whom evidence was handed to (handovers only);
    ``signature`` hex of the Ed25519 signature; ``key_id`` the signing key's id.
    """

    seq: int
    at: datetime
    actor: str
    action: str
    case_id: int | None
    sha256s: tuple[str, ...]
    reason: str
    prev_hash: str
    entry_hash: str
    signature: str
    key_id: str
    recipient: str | None = None

    @property
    def case_code(self) -> str | None:
        """The case as printed for people (``C-0042``), or None."""
        return None if self.case_id is None else f"C-{self.case_id:04d}"

    def content(self, *, seq: int | None = None) -> dict[str, Any]:
        """What the hash and the signature cover (``seq`` as given, to test another place)."""
        return {
            "v": FORMAT_VERSION,
            "seq": self.seq if seq is None else seq,
            "at": format_at(self.at),
            "actor": self.actor,
            "action": self.action,
            "case_id": self.case_id,
            "sha256s": list(self.sha256s),
            "reason": self.reason,
            "recipient": self.recipient,
            "prev_hash": self.prev_hash,
            "key_id": self.key_id,
        }

    def signed_bytes(self, *, seq: int | None = None) -> bytes:
        """The bytes the signature is taken over."""
        return ENTRY_SIGNING_PREFIX + canonical_bytes(self.content(seq=seq))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: every field, the time as ISO text, and the case's code."""
        return {
            "seq": self.seq,
            "at": format_at(self.at),
            "actor": self.actor,
            "action": self.action,
            "case_id": self.case_id,
            "case": self.case_code,
            "sha256s": list(self.sha256s),
            "reason": self.reason,
            "recipient": self.recipient,
            "prev_hash": self.prev_hash,
            "entry_hash": self.entry_hash,
            "signature": self.signature,
            "key_id": self.key_id,
        }


def make_entry(
    seq: int,
    at: datetime,
    *,
    actor: str,
    action: CustodyAction | str,
    case_id: int | None,
    sha256s: Iterable[str],
    reason: str,
    prev_hash: str,
    key_id: str,
    recipient: str | None = None,
) -> CustodyEntry:
    """A new entry, hashed but not yet signed (``signature`` empty).

    Text is normalised (Unicode NFC) so that the hash is the same wherever it is
    recomputed; hashes are lowercase; a file named twice is kept once. Raises
    ``ValueError`` for a hash that is not 64 hex digits or an empty actor or reason.
    """
    shas: list[str] = []
    for sha in sha256s:
        low = str(sha).lower()
        if len(low) != 64 or not set(low) <= _HEX:
            raise ValueError(f"not a SHA-256: {sha!r}")
        if low not in shas:
            shas.append(low)
    if not actor.strip() or not reason.strip():
        raise ValueError("a custody entry needs who and why")
    draft = CustodyEntry(
        seq=int(seq), at=at.astimezone(UTC), actor=_text(actor.strip()),
        action=str(CustodyAction(action)), case_id=None if case_id is None else int(case_id),
        sha256s=tuple(shas), reason=_text(reason.strip()),
        prev_hash=prev_hash, entry_hash="", signature="", key_id=key_id,
        recipient=None if recipient is None else _text(recipient.strip()),
    )
    return replace(draft, entry_hash=entry_hash(draft.content()))


def entry_from_dict(data: Mapping[str, Any]) -> CustodyEntry:
    """An entry from its :meth:`CustodyEntry.to_dict` form (an exported log's line).

    Raises ``ValueError`` (or ``KeyError``/``TypeError``) for a line that is not one.
    """
    case_id = data["case_id"]
    return CustodyEntry(
        seq=int(data["seq"]), at=parse_at(str(data["at"])), actor=str(data["actor"]),
        action=str(data["action"]), case_id=None if case_id is None else int(case_id),
        sha256s=tuple(str(s) for s in data["sha256s"]), reason=str(data["reason"]),
        prev_hash=str(data["prev_hash"]), entry_hash=str(data["entry_hash"]),
        signature=str(data["signature"]), key_id=str(data["key_id"]),
        recipient=None if data.get("recipient") is None else str(data["recipient"]),
    )


def head_message(seq: int, hash_: str) -> bytes:
    """The bytes the signature of a recorded chain head is taken over."""
    return HEAD_SIGNING_PREFIX + f"{int(seq)} {hash_}".encode("ascii")


# --------------------------------------------------------------------------------------
# Checking a stored log
# --------------------------------------------------------------------------------------


class SignatureState(StrEnum):
    """What checking one entry's signature found."""

    OK = "ok"
    BAD = "bad"  # the workspace key did not make it (forged, or re-signed with another key)
    FOREIGN_KEY = "foreign_key"  # made with a key the workspace does not have


class ChainProblem(StrEnum):
    """What is wrong with the log, entry by entry."""

    ALTERED = "entry_altered"  # its content no longer matches its hash
    REORDERED = "entry_reordered"  # stored at another entry's place
    DUPLICATE = "entry_duplicate"  # the same entry stored twice
    MISSING = "entry_missing"  # a number of the chain has no entry
    BAD_SIGNATURE = "bad_signature"  # the workspace key did not sign it
    FOREIGN_KEY = "foreign_key"  # signed with a key the workspace does not have
    BROKEN_LINK = "broken_link"  # its previous hash is not the hash of the entry before it
    UNRECORDED = "entry_unrecorded"  # after the recorded head: added outside vigilancia
    HEAD_MISMATCH = "head_mismatch"  # the recorded head names another last entry


@dataclass(frozen=True)
class ChainFinding:
    """One problem of the log: its kind, the entry number it concerns (``seq``), another
    entry it involves (``other``: the place a moved entry is stored at, or the entry it
    was swapped with) and details (hashes, key ids)."""

    kind: ChainProblem
    seq: int | None
    other: int | None = None
    detail: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


#: At most this many suspect entries are tried at each other's place (a swap is found
#: among them); beyond it, only the places their links point to are tried.
_MAX_PAIRWISE = 256


def check_chain(
    rows: Sequence[CustodyEntry],
    *,
    signature_ok: Callable[[CustodyEntry, bytes], SignatureState],
    head: tuple[int, str] | None,
) -> list[ChainFinding]:
    """What is wrong with a stored log (``rows`` in the order of their ``seq``).

    ``signature_ok(entry, signed_bytes)`` checks one entry's signature over
    ``signed_bytes`` (its :meth:`CustodyEntry.signed_bytes`; an entry that was moved is
    given with its own ``seq``). ``head`` is the recorded head ``(seq, hash)``, None when
    none is recorded.

    Each entry's identity is the number its hash was made with: its stored ``seq``, or,
    for an entry moved to another place, the number it hashes with (tried among the
    places its links point to and the other suspect places). Findings come by kind;
    an entry that is altered or badly signed is not also reported for the links
    around it, nor a moved entry for the places it left.
    """
    findings: list[ChainFinding] = []
    ident: dict[int, int] = {}  # index in rows -> the seq its hash was made with
    flagged: set[int] = set()  # indexes with a finding of their own
    suspects: list[int] = []
    canonical: dict[int, bytes] = {}  # index -> the canonical bytes it hashes with
    for i, row in enumerate(rows):
        data = canonical_bytes(row.content())
        if sha256_hex(data) == row.entry_hash:
            ident[i] = row.seq
            canonical[i] = data
        else:
            suspects.append(i)
    if suspects:
        _place_moved(rows, suspects, ident)
    for i in suspects:
        if i not in ident:
            findings.append(ChainFinding(ChainProblem.ALTERED, rows[i].seq, detail={
                "stored_hash": rows[i].entry_hash,
                "content_hash": entry_hash(rows[i].content())}))
            flagged.add(i)
    # signatures, over the content each entry was hashed with
    for i, row in enumerate(rows):
        if i in flagged:
            continue
        if i in canonical:
            signed, data = row, canonical[i]
        else:  # moved: signed with its own number
            signed = replace(row, seq=ident[i])
            data = canonical_bytes(signed.content())
        state = signature_ok(signed, ENTRY_SIGNING_PREFIX + data)
        if state is SignatureState.FOREIGN_KEY:
            findings.append(ChainFinding(ChainProblem.FOREIGN_KEY, row.seq,
                                         detail={"key_id": row.key_id}))
            flagged.add(i)
        elif state is SignatureState.BAD:
            findings.append(ChainFinding(ChainProblem.BAD_SIGNATURE, row.seq,
                                         detail={"key_id": row.key_id}))
            flagged.add(i)
    # each identity once: an entry at its own place first, then the moved ones
    by_ident: dict[int, int] = {}
    order = sorted(range(len(rows)), key=lambda i: (ident.get(i, rows[i].seq) != rows[i].seq,
                                                    rows[i].seq))
    moved: dict[int, int] = {}
    for i in order:
        own = ident.get(i, rows[i].seq)  # an altered entry keeps its place
        if own in by_ident:
            findings.append(ChainFinding(ChainProblem.DUPLICATE, own, other=rows[i].seq))
            flagged.add(i)
            continue
        by_ident[own] = i
        if own != rows[i].seq:
            moved[i] = own
    # entries at another entry's place
    at_place = {rows[i].seq: i for i in range(len(rows))}
    reported: set[int] = set()
    for i, own in sorted(moved.items(), key=lambda item: rows[item[0]].seq):
        if i in reported:
            continue
        j = at_place.get(own)
        if j is not None and j in moved and moved[j] == rows[i].seq:
            findings.append(ChainFinding(ChainProblem.REORDERED, rows[i].seq, other=own,
                                         detail={"swapped": True}))
            reported.update((i, j))
        else:
            findings.append(ChainFinding(ChainProblem.REORDERED, own, other=rows[i].seq,
                                         detail={"swapped": False}))
            reported.add(i)
    last = max(by_ident, default=0)
    top = max(last, head[0] if head is not None else 0)
    for seq in range(1, top + 1):
        if seq not in by_ident:
            findings.append(ChainFinding(ChainProblem.MISSING, seq))
    # links, in the order of the chain
    for seq in sorted(by_ident):
        i = by_ident[seq]
        if i in flagged:
            continue
        if seq == 1:
            expected = GENESIS_HASH
        else:
            before = by_ident.get(seq - 1)
            if before is None or before in flagged:
                continue  # reported as missing, altered or badly signed
            expected = rows[before].entry_hash
        if rows[i].prev_hash != expected:
            findings.append(ChainFinding(ChainProblem.BROKEN_LINK, seq, detail={
                "prev_hash": rows[i].prev_hash, "expected": expected}))
    # the recorded head
    if head is not None:
        head_seq, head_hash = head
        for seq in sorted(s for s in by_ident if s > head_seq):
            findings.append(ChainFinding(ChainProblem.UNRECORDED, seq, other=head_seq))
        at_head = by_ident.get(head_seq)
        if at_head is not None and at_head not in flagged \
                and rows[at_head].entry_hash != head_hash:
            findings.append(ChainFinding(ChainProblem.HEAD_MISMATCH, head_seq, detail={
                "head_hash": head_hash, "entry_hash": rows[at_head].entry_hash}))
    elif rows:
        findings.append(ChainFinding(ChainProblem.HEAD_MISMATCH, None,
                                     detail={"head_hash": None}))
    return findings


def _place_moved(rows: Sequence[CustodyEntry], suspects: list[int], ident: dict[int, int]) -> None:
    """Find the number each suspect entry was hashed with, where it hashes with one."""
    by_hash = {row.entry_hash: i for i, row in enumerate(rows)}
    by_prev: dict[str, int] = {}
    for i, row in enumerate(rows):
        by_prev.setdefault(row.prev_hash, i)
    seqs = [row.seq for row in rows]
    present = set(seqs)
    top = max(seqs, default=0)
    gaps = [s for s in range(1, top + 1) if s not in present][:_MAX_PAIRWISE]
    pairwise = [rows[i].seq for i in suspects[:_MAX_PAIRWISE]] + gaps
    pending = list(suspects)
    for _round in range(3):  # a neighbour placed in one round helps the next
        still = []
        for i in pending:
            row = rows[i]
            tries: list[int] = []
            before = by_hash.get(row.prev_hash)
            if before is not None:
                tries.append(ident.get(before, rows[before].seq) + 1)
            after = by_prev.get(row.entry_hash)
            if after is not None:
                tries.append(ident.get(after, rows[after].seq) - 1)
            tries += pairwise
            found = next((s for s in dict.fromkeys(tries)
                          if s >= 1 and s != row.seq
                          and entry_hash(row.content(seq=s)) == row.entry_hash), None)
            if found is None:
                still.append(i)
            else:
                ident[i] = found
        if len(still) == len(pending):
            break
        pending = still
