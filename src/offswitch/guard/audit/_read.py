"""Reading and verifying audit logs, through read-only connections."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from offswitch.guard.audit._format import (
    ENTRY_COLUMNS,
    KEY_VARIABLE,
    ZERO_HASH,
    AuditError,
    Head,
    check_format,
    entry_hash,
    mac_matches,
    missing_table,
    readable_json,
    resolve_key,
    schema_problem,
)
from offswitch.guard.audit._lists import Links, lists_problem, restore_lists


class AuditEntry(BaseModel):
    """One entry of an audit log, its moved lists put back."""

    seq: int
    time: str
    """UTC, ISO-8601."""
    kind: str
    payload: dict[str, Any]
    """Redacted."""
    prev_hash: str
    hash: str

    def json_line(self) -> str:
        """The entry as one line of JSON for people to read (without `prev_hash`)."""
        return readable_json(self.model_dump(exclude={"prev_hash"}))


class Verification(BaseModel):
    """The result of checking an audit log's chain and head."""

    ok: bool
    entries: int
    """Entries stored in the log."""
    last_hash: str | None
    """Hash of the newest stored entry; None when the log is empty."""
    row: int | None = None
    """Seq of the first bad entry; None when the log is intact or the fault is not an entry's."""
    problem: str | None = None
    """What is wrong, in plain words."""
    keyed: bool = False
    """The head's MAC was checked against the key."""
    expected: int = 0
    """Saved heads (`expect`) found in the log."""
    unchecked: str | None = None
    """What an intact-looking log could still hide, in plain words; None when nothing."""

    @property
    def head(self) -> Head:
        return Head(entries=self.entries, last_hash=self.last_hash)


# --- opening and reading ----------------------------------------------------------------------


def _open_for_reading(path: Path) -> sqlite3.Connection:
    """A read-only connection to an existing audit log, so reading can never alter it."""
    if not path.exists():
        raise AuditError(f"audit log {path} does not exist")
    if not path.is_file():
        raise AuditError(f"{path} is not a file")
    if path.stat().st_size == 0:
        raise AuditError(f"{path} is empty, not an offswitch audit log")
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True, isolation_level=None)
    except sqlite3.Error as error:
        raise AuditError(f"cannot open audit log {path}: {error}") from None
    try:
        check_format(connection, path)
    except AuditError:
        connection.close()
        raise
    return connection


def _entry_from_row(
    connection: sqlite3.Connection, row: tuple[Any, ...], path: Path, links: Links
) -> AuditEntry:
    seq, time, kind, payload, lists, prev_hash, digest = row
    try:
        content = json.loads(payload)
        if lists is not None:
            restore_lists(connection, content, lists, links)
        return AuditEntry(
            seq=seq, time=time, kind=kind, payload=content, prev_hash=prev_hash, hash=digest
        )
    except (TypeError, ValueError) as error:
        raise AuditError(f"entry {seq} of audit log {path} cannot be read: {error}") from None


def _read_rows(
    connection: sqlite3.Connection, path: Path, kind: str | None
) -> Iterator[AuditEntry]:
    where, parameters = ("WHERE kind = ?", (kind,)) if kind is not None else ("", ())
    try:
        connection.execute("BEGIN")  # entries and their lists from one snapshot
        rows = connection.execute(
            f"SELECT {ENTRY_COLUMNS} FROM entries {where} ORDER BY seq", parameters
        )
        links: Links = {}
        for row in rows:
            yield _entry_from_row(connection, row, path, links)
    except sqlite3.DatabaseError as error:
        raise AuditError(f"cannot read audit log {path}: {error}") from None
    finally:
        connection.close()


def entries(path: str | Path, kind: str | None = None) -> Iterator[AuditEntry]:
    """The log's entries in order, optionally only those of one kind, each with the
    conversation lists it references put back.

    Raises `AuditError` at once when the file is missing or not an audit log.
    Reading does not check the chain; use `verify` for that.
    """
    path = Path(path)
    return _read_rows(_open_for_reading(path), path, kind)


# --- the chain --------------------------------------------------------------------------------


def _content_matches(row: tuple[Any, ...]) -> bool:
    seq, time, kind, payload, lists, prev_hash, digest = row
    if not all(isinstance(text, str) for text in (time, kind, payload, prev_hash)):
        return False
    if lists is not None and not isinstance(lists, str):
        return False
    return entry_hash(seq, time, kind, payload, prev_hash, lists) == digest


def _link_problem(seq: int, content_ok: bool) -> str:
    """Why an entry's `prev_hash` is not its predecessor's hash, as far as it can be told."""
    if seq == 1:
        return "entry 1 does not start the chain: its prev_hash is not 64 zeros"
    before = seq - 1
    if not content_ok:
        return (
            f"entry {seq} does not follow entry {before}: the chain is broken "
            f"(its content belongs elsewhere: entries were reordered or rewritten)"
        )
    return (
        f"entry {seq} does not follow entry {before}: the chain is broken (its prev_hash is "
        f"not the hash of entry {before}: entry {before} or {seq} was rewritten with a "
        f"recomputed hash, or entries were reordered)"
    )


def _entry_problem(
    row: tuple[Any, ...], expected_seq: int, prev_hash: str
) -> tuple[int, str] | None:
    """What is wrong with the row found where entry `expected_seq` belongs, as (seq, problem)."""
    seq = row[0]
    if seq > expected_seq:
        if expected_seq == 1:
            return 1, f"entry 1 is missing: the log starts at entry {seq}"
        before = expected_seq - 1
        return expected_seq, f"entry {expected_seq} is missing: entry {seq} follows entry {before}"
    if seq < expected_seq:
        return seq, f"entry {seq} should not exist: entries are numbered from 1"
    content_ok = _content_matches(row)
    if row[5] != prev_hash:
        return seq, _link_problem(seq, content_ok)
    if not content_ok:
        return seq, f"entry {seq} was changed: its hash does not match its content"
    return None


def _chain_problem(rows: Iterable[tuple[Any, ...]]) -> tuple[int, str] | None:
    """The first broken entry, as (its seq, problem)."""
    expected_seq, prev_hash = 1, ZERO_HASH
    for row in rows:
        found = _entry_problem(row, expected_seq, prev_hash)
        if found:
            return found
        expected_seq, prev_hash = row[0] + 1, row[6]
    return None


# --- the head ---------------------------------------------------------------------------------


def _abbreviated(digest: Any) -> str:
    return f"{digest[:12]}…" if isinstance(digest, str) else "none"


def _head_problem(
    head: list[tuple[Any, ...]], count: int, last_hash: str | None
) -> tuple[int | None, str] | None:
    """Whether the head agrees with an intact chain of `count` entries ending in `last_hash`."""
    if not head:
        return None, "the head is missing"
    if len(head) > 1:
        return None, f"the head was edited: it has {len(head)} rows instead of one"
    head_count, head_hash, _ = head[0]
    if not isinstance(head_count, int):
        return None, "the head was edited: its entry count is not a number"
    if head_count > count:
        ends = f"ends at entry {count}" if count else "has no entries"
        return count + 1, f"the log {ends} but its head records {head_count} entries"
    if head_count < count:
        return head_count + 1, (
            f"the log has {count} entries but its head records {head_count}: "
            f"the head was edited or entries were added outside the log"
        )
    if count == 0 and head_hash is not None:
        return None, "the head was edited: it records a last hash but the log has no entries"
    if head_hash != last_hash:
        return count, (
            f"the head records last hash {_abbreviated(head_hash)} but entry {count} has hash "
            f"{_abbreviated(last_hash)}: the head was edited, or entry {count} was rewritten "
            f"with a recomputed hash"
        )
    return None


def _key_problem(key: bytes | None, head: tuple[Any, ...]) -> tuple[None, str] | None:
    """Whether the head carries the key's MAC (nothing to check without a key)."""
    count, last_hash, mac = head
    if key is None:
        return None
    if mac is None:
        return None, (
            "the head has no MAC, though a key was given: the log was written without a key, "
            "or its head was rewritten by someone without the key"
        )
    if not mac_matches(key, count, last_hash, mac):
        return None, (
            "the head's MAC does not match the key: the head was rewritten (entries cut off "
            "or replaced), or the key is not the one the log was written with"
        )
    return None


def _expect_problem(
    connection: sqlite3.Connection, count: int, expect: list[Head]
) -> tuple[int, str] | None:
    """Whether each saved head is still an entry of the log: the log only ever grows."""
    for saved in sorted(expect, key=lambda head: head.entries):
        if saved.entries == 0:
            continue
        if saved.entries > count:
            ends = f"ends at entry {count}" if count else "has no entries"
            return count + 1, (
                f"the log {ends} but a saved head records entry {saved.entries}: "
                f"its newest entries were cut off"
            )
        found = connection.execute("SELECT hash FROM entries WHERE seq = ?", (saved.entries,))
        digest = found.fetchone()[0]
        if digest != saved.last_hash:
            return saved.entries, (
                f"entry {saved.entries} has hash {_abbreviated(digest)} but the saved head "
                f"records {_abbreviated(saved.last_hash)}: the log was rewritten"
            )
    return None


def _unchecked(keyed: bool, mac: Any, count: int, expect: list[Head]) -> str | None:
    """What an intact chain does not show without a key: that its newest entries were cut
    off and the head rewritten to match."""
    if keyed:
        return None
    newest = max((head.entries for head in expect), default=0)
    if expect and newest >= count:
        return None
    head = "the head is keyed but no key was given" if mac is not None else "the head is not keyed"
    if expect:
        which, saved = f"entries after entry {newest} (the newest saved head)", "a newer saved head"
    else:
        which, saved = "the newest entries", "a saved head"
    return (
        f"{head}: cutting off {which} and rewriting the head cannot be detected without "
        f"the key (--audit-key or {KEY_VARIABLE}) or {saved} (--expect)"
    )


# --- verifying --------------------------------------------------------------------------------


def _newest(connection: sqlite3.Connection) -> tuple[int, str | None]:
    """How many entries the log holds, and the newest one's hash."""
    return connection.execute(
        "SELECT COUNT(*), (SELECT hash FROM entries ORDER BY seq DESC LIMIT 1) FROM entries"
    ).fetchone()


def _counted(connection: sqlite3.Connection) -> tuple[int, str | None]:
    """`_newest`, or no entries when the entries table was redefined past reading."""
    try:
        return _newest(connection)
    except sqlite3.DatabaseError:
        return 0, None


def _problem(
    connection: sqlite3.Connection,
    key: bytes | None,
    expect: list[Head],
    newest: tuple[int, str | None],
    head: list[tuple[Any, ...]],
) -> tuple[int | None, str] | None:
    """The first thing wrong with the log, as (seq of the entry, or None; problem)."""
    count, last_hash = newest
    rows = connection.execute(f"SELECT {ENTRY_COLUMNS} FROM entries ORDER BY seq")
    return (
        _chain_problem(rows)
        or _head_problem(head, count, last_hash)
        or lists_problem(connection)
        or _key_problem(key, head[0])
        or _expect_problem(connection, count, expect)
    )


def _verify_tables(
    connection: sqlite3.Connection, key: bytes | None, expect: list[Head]
) -> Verification:
    """Check schema, chain, lists and head inside one read transaction, so appends meanwhile
    do not matter."""
    missing = missing_table(connection)
    if missing:
        return Verification(
            ok=False, entries=0, last_hash=None, problem=f"the {missing} table is missing"
        )
    connection.execute("BEGIN")
    try:
        schema = schema_problem(connection)
        if schema:  # the chain is not read through a redefined table
            count, last_hash = _counted(connection)
            return Verification(ok=False, entries=count, last_hash=last_hash, problem=schema)
        count, last_hash = newest = _newest(connection)
        head = connection.execute("SELECT entries, last_hash, mac FROM head").fetchall()
        found = _problem(connection, key, expect, newest, head)
    finally:
        connection.execute("COMMIT")
    if found is not None:
        row, problem = found
        return Verification(ok=False, entries=count, last_hash=last_hash, row=row, problem=problem)
    keyed = key is not None
    return Verification(
        ok=True,
        entries=count,
        last_hash=last_hash,
        keyed=keyed,
        expected=len(expect),
        unchecked=_unchecked(keyed, head[0][2], count, expect),
    )


def verify(path: str | Path, key: bytes | None = None, expect: Iterable[Head] = ()) -> Verification:
    """Check that no entry of the log at `path` was changed, removed or moved.

    With a key (`key`, else `$OFFSWITCH_AUDIT_KEY` when set) the head's MAC is checked, so
    a log whose newest entries were cut off and whose head was rewritten fails. Each
    head in `expect` (saved earlier, from `offswitch audit head`) must still be in the
    log. Raises `AuditError` when the file is missing or is not an audit log.
    """
    path = Path(path)
    key = resolve_key(key)
    connection = _open_for_reading(path)
    try:
        return _verify_tables(connection, key, list(expect))
    except sqlite3.DatabaseError as error:
        return Verification(
            ok=False, entries=0, last_hash=None, problem=f"the log cannot be read: {error}"
        )
    finally:
        connection.close()
