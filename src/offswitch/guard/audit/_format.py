"""The audit log's file format: canonical JSON, hashes, the schema, and the keyed head."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import sqlite3
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

ZERO_HASH = "0" * 64
"""The `prev_hash` of the first entry, and the `prev` of a list's first link."""
KEY_VARIABLE = "OFFSWITCH_AUDIT_KEY"
"""The environment variable that holds the head's key when none is given."""
MIN_KEY_BYTES = 16
APPLICATION_ID = 0x4F464155
"""Marks a SQLite file as an offswitch audit log (SQLite's `application_id` header field)."""
FORMAT_VERSION = 2
ENTRY_COLUMNS = "seq, time, kind, payload, lists, prev_hash, hash"
TABLES = ("entries", "head", "blobs", "links")
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY, time TEXT NOT NULL,"
    " kind TEXT NOT NULL, payload TEXT NOT NULL, lists TEXT, prev_hash TEXT NOT NULL,"
    " hash TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS head (id INTEGER PRIMARY KEY CHECK (id = 1),"
    " entries INTEGER NOT NULL, last_hash TEXT, mac TEXT)",
    "CREATE TABLE IF NOT EXISTS blobs (hash TEXT PRIMARY KEY, content TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS links (hash TEXT PRIMARY KEY, prev TEXT NOT NULL,"
    " blob TEXT NOT NULL) WITHOUT ROWID",
)
_STATISTICS = frozenset({"sqlite_stat1", "sqlite_stat2", "sqlite_stat3", "sqlite_stat4"})
"""Tables SQLite's ANALYZE creates: they steer query plans, never results, so they are allowed."""
_HEAD = re.compile(r"(?P<entries>[0-9]+):(?P<hash>[0-9a-fA-F]{64})")


class AuditError(Exception):
    """An audit log cannot be opened, read or written."""


class AuditWriteError(AuditError):
    """An entry was not written: the disk is full or read-only, the log is closed, or the
    log was tampered with (unexpected schema objects, a rewritten head). Nothing of the
    entry was stored."""


# --- canonical JSON and hashing -------------------------------------------------------------


def _json(value: Any, *, sort_keys: bool) -> str:
    """Compact JSON; non-ASCII text stays readable unless it holds a lone surrogate.

    A lone surrogate (which JSON parsers happily produce from `"\\ud800"`) cannot be
    encoded as UTF-8, so SQLite could not store it; escaping keeps such text lossless.
    """
    text = json.dumps(value, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, sort_keys=sort_keys, separators=(",", ":"))
    return text


def canonical_json(value: Any) -> str:
    """Canonical JSON text: sorted keys, compact separators, UTF-8 rather than escapes."""
    return _json(value, sort_keys=True)


def readable_json(value: Any) -> str:
    """Compact JSON in the value's own key order, for people to read."""
    return _json(value, sort_keys=False)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def entry_hash(
    seq: int, time: str, kind: str, payload: str, prev_hash: str, lists: str | None = None
) -> str:
    """The hash of an entry; `payload` and `lists` are the stored texts."""
    fields: list[Any] = [seq, time, kind, payload, prev_hash]
    if lists is not None:
        fields.append(lists)
    return sha256(canonical_json(fields))


def link_hash(prev: str, blob: str) -> str:
    """The hash of a list's link: its predecessor's hash followed by its item's hash."""
    return sha256(prev + blob)


# --- the keyed head ---------------------------------------------------------------------------


class Head(BaseModel):
    """Where a log's chain ended at some moment: `ENTRIES:HASH` when written out."""

    entries: int
    last_hash: str | None
    """None for a log without entries."""

    def __str__(self) -> str:
        return f"{self.entries}:{self.last_hash or ZERO_HASH}"

    @classmethod
    def parse(cls, text: str) -> Head:
        """Read `ENTRIES:HASH` as `offswitch audit head` prints it; ValueError if malformed."""
        match = _HEAD.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not a head: expected ENTRIES:HASH (64 hex digits)")
        entries, digest = int(match["entries"]), match["hash"].lower()
        return cls(entries=entries, last_hash=None if entries == 0 else digest)


def head_mac(key: bytes, entries: int, last_hash: str | None) -> str:
    """The head's HMAC-SHA256 under `key`: of the canonical JSON text of
    `["offswitch audit head", entries, last_hash]`."""
    message = canonical_json(["offswitch audit head", entries, last_hash]).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def mac_matches(key: bytes, entries: Any, last_hash: Any, mac: Any) -> bool:
    if not isinstance(mac, str) or not isinstance(entries, int):
        return False
    return hmac.compare_digest(mac, head_mac(key, entries, last_hash))


def _checked_key(key: bytes, source: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise AuditError(
            f"{source} holds {len(key)} bytes; an audit key needs at least {MIN_KEY_BYTES} "
            f"(make one with `openssl rand -hex 32`)"
        )
    return key


def read_key(path: str | Path) -> bytes:
    """The key in a key file: its bytes less surrounding whitespace."""
    try:
        key = Path(path).read_bytes().strip()
    except OSError as error:
        raise AuditError(f"cannot read audit key file {path}: {error.strerror}") from None
    return _checked_key(key, f"audit key file {path}")


def resolve_key(key: bytes | None) -> bytes | None:
    """`key`, else the key in `$OFFSWITCH_AUDIT_KEY` when it is set, else None."""
    if key is not None:
        return _checked_key(key, "the audit key")
    value = os.environ.get(KEY_VARIABLE)
    if value is None:
        return None
    return _checked_key(value.strip().encode("utf-8"), f"${KEY_VARIABLE}")


# --- the schema -------------------------------------------------------------------------------


@cache
def _expected_objects() -> frozenset[tuple[Any, ...]]:
    """The schema objects of a fresh log, as SQLite records them."""
    memory = sqlite3.connect(":memory:")
    for statement in SCHEMA:
        memory.execute(statement)
    objects = frozenset(memory.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))
    memory.close()
    return objects


def missing_table(connection: sqlite3.Connection) -> str | None:
    """A table of the format that the file lacks, if any."""
    found = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    names = {row[0] for row in found}
    return next((table for table in TABLES if table not in names), None)


def _described(row: tuple[Any, ...]) -> str:
    kind, name, table, _ = row
    return f"{kind} {name} on {table}" if kind in ("index", "trigger") else f"{kind} {name}"


def schema_problem(connection: sqlite3.Connection) -> str | None:
    """What differs from the schema offswitch creates: a missing table, a redefined table,
    or a trigger, view, table or index that offswitch does not create."""
    missing = missing_table(connection)
    if missing:
        return f"the {missing} table is missing"
    found = {
        row
        for row in connection.execute("SELECT type, name, tbl_name, sql FROM sqlite_master")
        if row[1] not in _STATISTICS
    }
    expected = _expected_objects()
    names = {row[1] for row in found - expected}
    redefined = sorted(row[1] for row in expected - found if row[1] in names)
    if redefined:
        return f"the {redefined[0]} table was redefined"
    foreign = sorted(_described(row) for row in found - expected)
    if foreign:
        return f"the file holds schema objects offswitch does not create: {', '.join(foreign)}"
    return None


def check_format(connection: sqlite3.Connection, path: Path) -> None:
    """Raise `AuditError` unless the file is an audit log this version can read."""
    try:
        application_id = connection.execute("PRAGMA application_id").fetchone()[0]
        version = connection.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError:
        raise AuditError(f"{path} is not an offswitch audit log: not a SQLite database") from None
    if application_id != APPLICATION_ID:
        raise AuditError(f"{path} is not an offswitch audit log: a SQLite database of another kind")
    if version != FORMAT_VERSION:
        raise AuditError(
            f"{path} is an offswitch audit log of format {version}; this version reads format "
            f"{FORMAT_VERSION}"
        )
