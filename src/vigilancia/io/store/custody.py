"""The custody of evidence: the signed, hash-chained log, its keys, and derived copies.

``store.custody`` appends entries to ``custody_log`` (never changes or removes one:
the database refuses it too) and reads them back as
:class:`~vigilancia.domain.evidence.CustodyEntry`, exactly as stored, so that a
check sees any change made behind vigilancia's back. ``store.custody.public_keys()`` are
the public keys that sign it. ``store.derived_files`` lists the copies made from
kept field files (resized, metadata stripped), by original, kind and size.

Appending takes the connection of ``store.transaction()``: the writer lock is held
from the read of the last entry to the commit, so two writers never fork the chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from vigilancia.domain.evidence import CustodyEntry
from vigilancia.io.store import schema as s
from vigilancia.io.store.records import (
    CustodyKeyRecord,
    DerivedFileRecord,
    custody_entry,
    custody_entry_values,
    custody_key,
    derived_file,
)
from vigilancia.io.store.repository import Repository, in_chunks, insert_rows, require_tx

#: Entries read per round trip when the whole log is walked.
PAGE_ROWS = 5_000


class CustodyRepository(Repository):
    """``store.custody``: the custody log and its signing keys."""

    def append(self, conn: Connection, entries: Sequence[CustodyEntry]) -> None:
        """Add signed entries at the end of the log (inside the transaction that read
        the last one)."""
        require_tx(conn)
        insert_rows(conn, s.custody_log, [custody_entry_values(e) for e in entries])

    def last(self, *, conn: Connection | None = None) -> CustodyEntry | None:
        """The entry with the highest ``seq``, or None for an empty log."""
        t = s.custody_log
        with self.db.reader(conn) as c:
            row = c.execute(sa.select(t).order_by(t.c.seq.desc()).limit(1)).first()
        return None if row is None else custody_entry(row)

    def count(self, *, conn: Connection | None = None) -> int:
        """How many entries the log holds."""
        with self.db.reader(conn) as c:
            return int(c.execute(
                sa.select(sa.func.count()).select_from(s.custody_log)).scalar_one())

    def iter_all(self, *, conn: Connection | None = None) -> Iterator[CustodyEntry]:
        """Every entry, by ``seq``, read :data:`PAGE_ROWS` at a time."""
        t = s.custody_log
        after = None
        with self.db.reader(conn) as c:
            while True:
                stmt = sa.select(t).order_by(t.c.seq).limit(PAGE_ROWS)
                if after is not None:
                    stmt = stmt.where(t.c.seq > after)
                rows = c.execute(stmt).all()
                if not rows:
                    return
                for row in rows:
                    yield custody_entry(row)
                after = int(rows[-1].seq)

    def for_case(self, case_id: int, shas: Iterable[str], *,
                 conn: Connection | None = None) -> list[CustodyEntry]:
        """The entries of one case, by ``seq``: those that name it, and those that name no
        case but one of the files ``shas`` (a file shared by several cases)."""
        t = s.custody_log
        wanted = set(shas)
        with self.db.reader(conn) as c:
            named = [custody_entry(r) for r in c.execute(
                sa.select(t).where(t.c.case_id == int(case_id)).order_by(t.c.seq)).all()]
            shared: list[CustodyEntry] = []
            if wanted:
                for r in c.execute(
                        sa.select(t).where(t.c.case_id.is_(None)).order_by(t.c.seq)).all():
                    entry = custody_entry(r)
                    if wanted.intersection(entry.sha256s):
                        shared.append(entry)
        return sorted(named + shared, key=lambda e: e.seq)

    def add_key(self, conn: Connection, key: CustodyKeyRecord) -> None:
        """Record a public key that signs the log."""
        require_tx(conn)
        conn.execute(sa.insert(s.custody_keys).values(
            key_id=key.key_id, algorithm=key.algorithm, public_key=key.public_key,
            created_at=key.created_at))

    def public_keys(self, *, conn: Connection | None = None) -> list[CustodyKeyRecord]:
        """The public keys that sign the log, oldest first."""
        t = s.custody_keys
        with self.db.reader(conn) as c:
            rows = c.execute(sa.select(t).order_by(t.c.created_at, t.c.key_id)).all()
        return [custody_key(r) for r in rows]


class DerivedFileRepository(Repository):
    """``store.derived_files``: copies made from kept field files."""

    def add(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Record copies (columns of ``derived_files``)."""
        require_tx(conn)
        insert_rows(conn, s.derived_files, [dict(r) for r in rows])

    def find(self, original_sha256: str, kind: str, max_px: int, *,
             conn: Connection | None = None) -> DerivedFileRecord | None:
        """The copy of that kind and size made from ``original_sha256``, or None."""
        t = s.derived_files
        with self.db.reader(conn) as c:
            row = c.execute(sa.select(t).where(
                t.c.original_sha256 == original_sha256, t.c.kind == kind,
                t.c.max_px == int(max_px))).first()
        return None if row is None else derived_file(row)

    # (``list`` comes last: below it, the name would mean this method in annotations)
    def list(self, originals: Iterable[str] | None = None, *,
             conn: Connection | None = None) -> list[DerivedFileRecord]:
        """Stored copies (all, or those of the originals given), by original, kind, size."""
        t = s.derived_files
        order = (t.c.original_sha256, t.c.kind, t.c.max_px)
        with self.db.reader(conn) as c:
            if originals is None:
                return [derived_file(r) for r in c.execute(sa.select(t).order_by(*order)).all()]
            out = []
            for chunk in in_chunks(sorted(set(originals))):
                out += [derived_file(r) for r in c.execute(
                    sa.select(t).where(t.c.original_sha256.in_(chunk))).all()]
        return sorted(out, key=lambda r: (r.original_sha256, r.kind, r.max_px))
