"""A tamper-evident, append-only audit log of the guard's decisions.

Entries live in a SQLite file and form a hash chain: each entry's hash covers
its own content and the previous entry's hash, so editing, deleting or
reordering entries breaks the chain where it happened. A one-row head table
holds the entry count and the newest hash, updated in the same transaction as
each append, so cutting entries off the end is detected too.

Secrets are redacted before an entry is hashed and stored: they never reach the
file. An entry's hash is the SHA-256 of the canonical JSON text of
``[seq, time, kind, payload, prev_hash]``, where ``payload`` is the stored
canonical JSON text of the payload and the first entry's ``prev_hash`` is 64
zeros, so any tool can recompute the chain.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import BaseModel

ZERO_HASH = "0" * 64
"""The `prev_hash` of the first entry."""
REDACTED = "[redacted]"

_APPLICATION_ID = 0x4F464155
"""Marks a SQLite file as an offswitch audit log (SQLite's `application_id` header field)."""
_FORMAT_VERSION = 1
_COLUMNS = "seq, time, kind, payload, prev_hash, hash"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY, time TEXT NOT NULL,"
    " kind TEXT NOT NULL, payload TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS head (id INTEGER PRIMARY KEY CHECK (id = 1),"
    " entries INTEGER NOT NULL, last_hash TEXT)",
    "INSERT OR IGNORE INTO head (id, entries, last_hash) VALUES (1, 0, NULL)",
)


class AuditError(Exception):
    """An audit log cannot be opened, read or written."""


class AuditEntry(BaseModel):
    """One entry of an audit log, as stored."""

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
        return _json(self.model_dump(exclude={"prev_hash"}), sort_keys=False)


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


def entry_hash(seq: int, time: str, kind: str, payload: str, prev_hash: str) -> str:
    """The hash of an entry; `payload` is the stored canonical JSON text."""
    text = canonical_json([seq, time, kind, payload, prev_hash])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- redaction --------------------------------------------------------------------------------


def _normalized(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


_SECRET_KEYS = frozenset(
    _normalized(name)
    for name in (
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "openai-api-key",
        "password",
        "passwd",
        "secret",
        "client_secret",
        "secret_key",
        "secret_access_key",
        "aws_secret_access_key",
        "token",
        "access_token",
        "refresh_token",
        "cookie",
        "set-cookie",
    )
)
_SECRET_NAME = (
    r"(?:proxy[-_]?authorization|authorization|(?:x|openai)[-_]?api[-_]?key|api[-_]?key"
    r"|client[-_]?secret|secret(?:[-_]?(?:access[-_]?)?key)?|passwd|password"
    r"|(?:access|refresh)[-_]?token|token|set[-_]?cookie|cookie)"
)
_SECRET_VALUE = (
    r'"(?:[^"\\]|\\.)*"'  # a quoted string, escapes and all
    r"|'(?:[^'\\]|\\.)*'"
    r'|\\"[^"\\]*\\"'  # a quoted string inside JSON that was itself put in a JSON string
    r"|[\"']?(?:(?:bearer|basic|token)\s+)?[^\s\"'\\&,;}\]]+"  # a bare word, maybe a scheme
)
_ASSIGNMENT = re.compile(
    rf"(?P<lead>(?<![A-Za-z0-9]){_SECRET_NAME}(?:\\?[\"'])?\s*[:=]\s*)(?P<value>{_SECRET_VALUE})",
    re.IGNORECASE | re.ASCII,
)
"""`api_key=…`, `"password": "…"`, `Authorization: Bearer …` and the like."""
_SECRET_NAME_ROOTS = ("auth", "key", "secret", "passw", "token", "cookie")
"""Every secret name contains one of these; text without any skips the slower search."""
_BEARER = re.compile(r"(?P<scheme>\bbearer)\s+[A-Za-z0-9\-._~+/]{8,}=*", re.IGNORECASE | re.ASCII)
_TOKEN = re.compile(
    r"(?<![A-Za-z0-9])(?:"
    r"sk-[A-Za-z0-9_\-]{8,}"  # OpenAI and Anthropic keys, sk-proj- and sk-ant- included
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Za-z])"  # AWS access key ids
    r"|gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,}"  # GitHub tokens
    r"|xox[bp]-[A-Za-z0-9\-]{8,}"  # Slack tokens
    r")"
)


def _redact_assignment(match: re.Match[str]) -> str:
    value = match["value"]
    quote = next((q for q in ('\\"', '"', "'") if value.startswith(q)), "")
    closing = quote if value.endswith(quote) else ""
    return f"{match['lead']}{quote}{REDACTED}{closing}"


def _redact_text(text: str) -> str:
    lowered = text.lower()
    if any(root in lowered for root in _SECRET_NAME_ROOTS):
        text = _ASSIGNMENT.sub(_redact_assignment, text)
    if "bearer" in lowered:
        text = _BEARER.sub(rf"\g<scheme> {REDACTED}", text)
    return _TOKEN.sub(REDACTED, text)


def _is_secret_key(key: Any) -> bool:
    return isinstance(key, str) and _normalized(key) in _SECRET_KEYS


def redact(value: Any) -> Any:
    """A copy of `value` with secrets replaced by "[redacted]".

    Replaces the values of secret-named mapping keys (and of `(name, value)` header
    pairs), and inside strings bearer tokens, API keys of known shapes, and
    `name=value` / `"name": "value"` assignments of secret names. Mappings become
    dicts and tuples become lists; other values are returned as they are.
    """
    if isinstance(value, str):
        return _redact_text(value)
    if isinstance(value, Mapping):
        return {
            key: REDACTED if _is_secret_key(key) else redact(item) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        if len(value) == 2 and _is_secret_key(value[0]):
            return [value[0], REDACTED]
        return [redact(item) for item in value]
    return value


# --- opening files ----------------------------------------------------------------------------


def _check_format(connection: sqlite3.Connection, path: Path) -> None:
    """Raise `AuditError` unless the file is an audit log this version can read."""
    try:
        application_id = connection.execute("PRAGMA application_id").fetchone()[0]
        version = connection.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError:
        raise AuditError(f"{path} is not an offswitch audit log: not a SQLite database") from None
    if application_id != _APPLICATION_ID:
        raise AuditError(f"{path} is not an offswitch audit log: a SQLite database of another kind")
    if version != _FORMAT_VERSION:
        raise AuditError(
            f"{path} is an offswitch audit log of format {version}; this version reads format "
            f"{_FORMAT_VERSION}"
        )


def _missing_table(connection: sqlite3.Connection) -> str | None:
    names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    return next((table for table in ("entries", "head") if table not in names), None)


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
        _check_format(connection, path)
    except AuditError:
        connection.close()
        raise
    return connection


def _create(connection: sqlite3.Connection) -> None:
    connection.execute("BEGIN IMMEDIATE")
    connection.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
    connection.execute(f"PRAGMA user_version = {_FORMAT_VERSION}")
    for statement in _SCHEMA:
        connection.execute(statement)
    connection.execute("COMMIT")


def _check_consistent(connection: sqlite3.Connection, path: Path) -> None:
    """Refuse to extend a chain whose head does not match its newest entry."""
    missing = _missing_table(connection)
    if missing:
        raise AuditError(f"audit log {path} is damaged: its {missing} table is missing")
    connection.execute("BEGIN")  # one snapshot, even while another process appends
    head = connection.execute("SELECT entries, last_hash FROM head").fetchall()
    newest = connection.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1")
    last = newest.fetchone() or (0, None)
    connection.execute("COMMIT")
    if len(head) != 1 or tuple(head[0]) != tuple(last):
        raise AuditError(
            f"audit log {path} was tampered with: its head does not match its newest entry "
            f"(run `offswitch audit verify {path}`)"
        )


def _open_for_appending(path: Path) -> sqlite3.Connection:
    """A connection to a new log or to an existing, consistent one."""
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
            _create(connection)
        else:
            _check_format(connection, path)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        _check_consistent(connection, path)
    except AuditError:
        connection.close()
        raise
    except sqlite3.Error as error:
        connection.close()
        raise AuditError(f"cannot open audit log {path}: {error}") from None
    return connection


# --- writing ----------------------------------------------------------------------------------


class AuditLog:
    """An audit log open for appending; safe to share between threads.

    Each append is its own committed transaction. With a WAL journal and
    `synchronous=NORMAL` a commit does not wait for the disk, so appending is fast
    enough to call inline from an asyncio server; an entry survives a crash of the
    process, though the newest entries may be lost if the machine loses power.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = _open_for_appending(self.path)

    def append(self, kind: str, payload: Mapping[str, Any]) -> AuditEntry:
        """Redact, hash, store and commit one entry, and return it as stored.

        `payload` must be JSON data (mappings with string keys, sequences, strings,
        numbers, booleans, None); anything else raises `TypeError`.
        """
        payload_text = canonical_json(redact(payload))
        seq, time, prev_hash, digest = self._store(kind, payload_text)
        return AuditEntry(
            seq=seq,
            time=time,
            kind=kind,
            payload=json.loads(payload_text),
            prev_hash=prev_hash,
            hash=digest,
        )

    def write(self, kind: str, payload: Mapping[str, Any]) -> None:
        """`append` for a caller that does not need the entry back: nothing is built
        after the commit."""
        self._store(kind, canonical_json(redact(payload)))

    def _store(self, kind: str, payload_text: str) -> tuple[int, str, str, str]:
        with self._lock:
            if self._connection is None:
                raise AuditError(f"audit log {self.path} is closed")
            try:
                return self._commit(self._connection, kind, payload_text)
            except sqlite3.Error as error:
                raise AuditError(f"cannot append to audit log {self.path}: {error}") from None

    @staticmethod
    def _commit(
        connection: sqlite3.Connection, kind: str, payload_text: str
    ) -> tuple[int, str, str, str]:
        """Store one entry after the head's newest one; read the head inside the transaction
        so that other processes appending to the same file keep one chain."""
        connection.execute("BEGIN IMMEDIATE")
        try:
            count, last_hash = connection.execute("SELECT entries, last_hash FROM head").fetchone()
            seq, prev_hash = count + 1, last_hash or ZERO_HASH
            time = datetime.now(UTC).isoformat(timespec="microseconds")
            digest = entry_hash(seq, time, kind, payload_text, prev_hash)
            connection.execute(
                f"INSERT INTO entries ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (seq, time, kind, payload_text, prev_hash, digest),
            )
            connection.execute("UPDATE head SET entries = ?, last_hash = ?", (seq, digest))
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


# --- reading ----------------------------------------------------------------------------------


def _entry_from_row(row: tuple[Any, ...], path: Path) -> AuditEntry:
    seq, time, kind, payload, prev_hash, digest = row
    try:
        return AuditEntry(
            seq=seq,
            time=time,
            kind=kind,
            payload=json.loads(payload),
            prev_hash=prev_hash,
            hash=digest,
        )
    except (TypeError, ValueError):
        raise AuditError(f"entry {seq} of audit log {path} cannot be read") from None


def _read_rows(
    connection: sqlite3.Connection, path: Path, kind: str | None
) -> Iterator[AuditEntry]:
    where, parameters = ("WHERE kind = ?", (kind,)) if kind is not None else ("", ())
    try:
        rows = connection.execute(
            f"SELECT {_COLUMNS} FROM entries {where} ORDER BY seq", parameters
        )
        for row in rows:
            yield _entry_from_row(row, path)
    except sqlite3.DatabaseError as error:
        raise AuditError(f"cannot read audit log {path}: {error}") from None
    finally:
        connection.close()


def entries(path: str | Path, kind: str | None = None) -> Iterator[AuditEntry]:
    """The log's entries in order, optionally only those of one kind.

    Raises `AuditError` at once when the file is missing or not an audit log.
    Reading does not check the chain; use `verify` for that.
    """
    path = Path(path)
    return _read_rows(_open_for_reading(path), path, kind)


# --- verifying --------------------------------------------------------------------------------


def _content_matches(row: tuple[Any, ...]) -> bool:
    seq, time, kind, payload, prev_hash, digest = row
    if not all(isinstance(text, str) for text in (time, kind, payload, prev_hash)):
        return False
    return entry_hash(seq, time, kind, payload, prev_hash) == digest


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
    if row[4] != prev_hash:
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
        expected_seq, prev_hash = row[0] + 1, row[5]
    return None


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
    head_count, head_hash = head[0]
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


def _verify_tables(connection: sqlite3.Connection) -> Verification:
    """Check chain and head inside one read transaction, so appends meanwhile do not matter."""
    missing = _missing_table(connection)
    if missing:
        return Verification(
            ok=False, entries=0, last_hash=None, problem=f"the {missing} table is missing"
        )
    connection.execute("BEGIN")
    count, last_hash = connection.execute(
        "SELECT COUNT(*), (SELECT hash FROM entries ORDER BY seq DESC LIMIT 1) FROM entries"
    ).fetchone()
    found = _chain_problem(connection.execute(f"SELECT {_COLUMNS} FROM entries ORDER BY seq"))
    if found is None:
        found = _head_problem(
            connection.execute("SELECT entries, last_hash FROM head").fetchall(), count, last_hash
        )
    connection.execute("COMMIT")
    if found is None:
        return Verification(ok=True, entries=count, last_hash=last_hash)
    row, problem = found
    return Verification(ok=False, entries=count, last_hash=last_hash, row=row, problem=problem)


def verify(path: str | Path) -> Verification:
    """Check that no entry of the log at `path` was changed, removed or moved.

    Raises `AuditError` when the file is missing or is not an audit log.
    """
    path = Path(path)
    connection = _open_for_reading(path)
    try:
        return _verify_tables(connection)
    except sqlite3.DatabaseError as error:
        return Verification(
            ok=False, entries=0, last_hash=None, problem=f"the log cannot be read: {error}"
        )
    finally:
        connection.close()
