"""Appending to an audit log: one committed transaction per entry, failures raised."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import BaseModel

from offswitch.guard.audit._format import (
    APPLICATION_ID,
    ENTRY_COLUMNS,
    FORMAT_VERSION,
    KEY_VARIABLE,
    SCHEMA,
    ZERO_HASH,
    AuditError,
    AuditWriteError,
    Head,
    canonical_json,
    check_format,
    entry_hash,
    head_mac,
    mac_matches,
    resolve_key,
    schema_problem,
)
from offswitch.guard.audit._lists import (
    CONVERSATION_KEYS,
    Prepared,
    prepare_lists,
    remember,
    store_lists,
)
from offswitch.guard.audit._read import AuditEntry
from offswitch.guard.audit._redact import redact, redact_lifting


class AuditState(BaseModel):
    """How an open audit log is doing, for a server's health report."""

    path: str
    healthy: bool
    """Open, and its newest append (if any) succeeded."""
    problem: str | None = None
    """Why the newest append failed, or that the log is closed."""
    entries: int
    """The head as of this writer's newest append (other processes may have appended since)."""
    last_hash: str | None
    keyed: bool
    """Whether the head is kept with an HMAC key."""


def _mac_problem(key: bytes | None, head: tuple[Any, ...]) -> str | None:
    """Why a writer with `key` (or without one) must not extend a chain with this head."""
    count, last_hash, mac = head
    if key is None:
        if mac is None:
            return None
        return f"its head is keyed: set {KEY_VARIABLE} to the key it was written with"
    if mac is None:
        return (
            "its head has no MAC: it was written without a key (start a new log to key it), "
            "or its head was rewritten"
        )
    if not mac_matches(key, count, last_hash, mac):
        return (
            "its head's MAC does not match the key: the head was rewritten, or the key is not "
            "the one the log was written with"
        )
    return None


def _create(connection: sqlite3.Connection, key: bytes | None) -> None:
    mac = head_mac(key, 0, None) if key is not None else None
    connection.execute("BEGIN IMMEDIATE")
    connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    connection.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
    for statement in SCHEMA:
        connection.execute(statement)
    connection.execute(
        "INSERT OR IGNORE INTO head (id, entries, last_hash, mac) VALUES (1, 0, NULL, ?)", (mac,)
    )
    connection.execute("COMMIT")


def _tampered(path: Path, problem: str) -> str:
    return f"audit log {path} was tampered with: {problem} (run `offswitch audit verify {path}`)"


def _check_consistent(connection: sqlite3.Connection, path: Path, key: bytes | None) -> Head:
    """Refuse to extend a log with foreign schema objects, or whose head does not match its
    newest entry or the key; the head."""
    connection.execute("BEGIN")  # one snapshot, even while another process appends
    try:
        problem = schema_problem(connection)
        if problem:
            raise AuditError(_tampered(path, problem))
        head = connection.execute("SELECT entries, last_hash, mac FROM head").fetchall()
        newest = connection.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1")
        last = newest.fetchone() or (0, None)
    finally:
        connection.execute("COMMIT")
    if len(head) != 1 or tuple(head[0][:2]) != tuple(last):
        raise AuditError(_tampered(path, "its head does not match its newest entry"))
    problem = _mac_problem(key, head[0])
    if problem:
        raise AuditError(f"cannot append to audit log {path}: {problem}")
    return Head(entries=last[0], last_hash=last[1])


def _open_for_appending(path: Path, key: bytes | None) -> tuple[sqlite3.Connection, Head]:
    """A connection to a new log or to an existing, consistent one, and the log's head."""
    fresh = not path.exists() or (path.is_file() and path.stat().st_size == 0)
    if fresh:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            reason = error.strerror or str(error)
            raise AuditError(f"cannot make the directory of audit log {path}: {reason}") from None
    elif not path.is_file():
        raise AuditError(f"{path} is not a file")
    try:
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as error:
        raise AuditError(f"cannot open audit log {path}: {error}") from None
    try:
        if fresh:
            _create(connection, key)
        else:
            check_format(connection, path)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        head = _check_consistent(connection, path, key)
    except AuditError:
        connection.close()
        raise
    except sqlite3.Error as error:
        connection.close()
        raise AuditError(f"cannot open audit log {path}: {error}") from None
    return connection, head


class AuditLog:
    """An audit log open for appending; safe to share between threads.

    Each append is its own committed transaction. With a WAL journal and
    `synchronous=NORMAL` a commit does not wait for the disk, so appending is fast
    enough to call inline from an asyncio server; an entry survives a crash of the
    process, though the newest entries may be lost if the machine loses power.

    An append that cannot be stored raises `AuditWriteError` and leaves the log
    unhealthy (`healthy`, `state()`) until an append succeeds again.
    """

    def __init__(self, path: str | Path, key: bytes | None = None) -> None:
        """Open or create the log at `path`; keep its head with `key`, or with the key in
        `$OFFSWITCH_AUDIT_KEY` when `key` is None and it is set.

        Raises `AuditError` when the file cannot be used: not an audit log, keyed with
        another key (or keyed when no key is given, or not keyed when one is), or tampered
        with (a head that does not match, schema objects offswitch does not create).
        """
        self.path = Path(path)
        self._key = resolve_key(key)
        self._lock = threading.Lock()
        self._problem: str | None = None
        self._known: dict[str, str] = {}  # blobs stored, by unredacted item (prepare_lists)
        self._schema_version = -1  # the first append checks the schema in its transaction
        connection, self._head = _open_for_appending(self.path, self._key)
        self._connection: sqlite3.Connection | None = connection

    @property
    def healthy(self) -> bool:
        """Whether the log is open and its newest append (if any) succeeded."""
        return self._connection is not None and self._problem is None

    def state(self) -> AuditState:
        """The log's health and head, without touching the file."""
        closed = None if self._connection is not None else f"audit log {self.path} is closed"
        head = self._head
        return AuditState(
            path=str(self.path),
            healthy=self.healthy,
            problem=self._problem or closed,
            entries=head.entries,
            last_hash=head.last_hash,
            keyed=self._key is not None,
        )

    def append(self, kind: str, payload: Mapping[str, Any]) -> AuditEntry:
        """Redact, hash, store and commit one entry, and return it as stored.

        `payload` must be JSON data (mappings with string keys, sequences, strings,
        numbers, booleans, None); anything else raises `TypeError`. Raises
        `AuditWriteError` when the entry cannot be stored.
        """
        stored_payload = json.loads(canonical_json(redact(payload)))
        seq, time, prev_hash, digest = self._store(kind, payload)
        return AuditEntry(
            seq=seq,
            time=time,
            kind=kind,
            payload=stored_payload,
            prev_hash=prev_hash,
            hash=digest,
        )

    def write(self, kind: str, payload: Mapping[str, Any]) -> None:
        """`append` for a caller that does not need the entry back: nothing is built
        after the commit."""
        self._store(kind, payload)

    def _store(self, kind: str, payload: Mapping[str, Any]) -> tuple[int, str, str, str]:
        rest, lifted = redact_lifting(payload, CONVERSATION_KEYS)
        payload_text = canonical_json(rest)
        prepared = prepare_lists(lifted, self._known)
        with self._lock:
            try:
                if self._connection is None:
                    raise AuditWriteError(f"audit log {self.path} is closed")
                stored = self._commit(self._connection, kind, payload_text, prepared)
            except sqlite3.Error as error:
                self._problem = f"cannot append to audit log {self.path}: {error}"
                raise AuditWriteError(self._problem) from None
            except AuditWriteError as error:
                self._problem = str(error)
                raise
            remember(self._known, prepared)
            self._problem = None
            self._head = Head(entries=stored[0], last_hash=stored[3])
            return stored

    def _check_schema(self, connection: sqlite3.Connection) -> None:
        """Refuse to append once a trigger, view, table or index has been added: a trigger
        could drop or rewrite entries as they are stored. SQLite counts every change of
        the schema, so the full check runs only when the count moved."""
        version = connection.execute("PRAGMA schema_version").fetchone()[0]
        if version == self._schema_version:
            return
        problem = schema_problem(connection)
        if problem:
            raise AuditWriteError(_tampered(self.path, problem))
        self._schema_version = version

    def _checked_head(self, connection: sqlite3.Connection) -> tuple[int, str | None]:
        head = connection.execute("SELECT entries, last_hash, mac FROM head").fetchall()
        if len(head) != 1 or not isinstance(head[0][0], int):
            raise AuditWriteError(_tampered(self.path, "its head was removed or edited"))
        problem = _mac_problem(self._key, head[0])
        if problem:
            raise AuditWriteError(f"cannot append to audit log {self.path}: {problem}")
        return head[0][0], head[0][1]

    def _commit(
        self, connection: sqlite3.Connection, kind: str, payload_text: str, prepared: list[Prepared]
    ) -> tuple[int, str, str, str]:
        """Store one entry after the head's newest one; read the head inside the transaction
        so that other processes appending to the same file keep one chain."""
        connection.execute("BEGIN IMMEDIATE")
        try:
            self._check_schema(connection)
            count, last_hash = self._checked_head(connection)
            seq, prev_hash = count + 1, last_hash or ZERO_HASH
            time = datetime.now(UTC).isoformat(timespec="microseconds")
            lists = store_lists(connection, prepared)
            digest = entry_hash(seq, time, kind, payload_text, prev_hash, lists)
            connection.execute(
                f"INSERT INTO entries ({ENTRY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (seq, time, kind, payload_text, lists, prev_hash, digest),
            )
            mac = head_mac(self._key, seq, digest) if self._key is not None else None
            connection.execute(
                "UPDATE head SET entries = ?, last_hash = ?, mac = ?", (seq, digest, mac)
            )
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return seq, time, prev_hash, digest

    def close(self) -> None:
        """Close the file; closing twice is harmless."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
