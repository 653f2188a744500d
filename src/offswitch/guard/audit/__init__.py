"""A tamper-evident, append-only audit log of the guard's decisions.

Entries live in a SQLite file and form a hash chain: each entry's hash covers
its own content and the previous entry's hash, so editing, deleting or
reordering entries breaks the chain where it happened. A one-row head table
holds the entry count and the newest hash, updated in the same transaction as
each append, so cutting entries off the end is detected too, unless whoever cuts
them also rewrites the head. Two things catch that:

- **A keyed head.** Given a key (`AuditLog(path, key=...)`, `verify(path, key=...)`,
  or the environment variable `OFFSWITCH_AUDIT_KEY` when no key is passed; the CLI
  reads a key file with `--audit-key FILE`), the head also holds an HMAC-SHA256 of
  the canonical JSON text of `["offswitch audit head", entries, last_hash]`. Without
  the key nobody can write a head for a log they cut. Keep the key where the agent
  cannot read it. A keyed log is only extended with its key; a log written without a
  key is never keyed later (start a new one). The key does not catch a whole file, or
  a head, put back from a copy taken earlier.
- **A saved head.** `offswitch audit head FILE` prints `ENTRIES:HASH`; kept
  elsewhere, `verify(path, expect=[Head.parse(text)])` (`audit verify --expect`)
  checks that the log still holds that entry with that hash.

Without either, `verify` says so in `Verification.unchecked`.

The file holds only the tables offswitch creates (SQLite's ANALYZE statistics aside):
a trigger could drop or rewrite entries as they are stored, a view could stand in for a
table. `verify` fails on any other trigger, view, table or index, and a writer refuses
to open, or to append to, a log that has one.

Writing fails loudly: `AuditLog.append` and `AuditLog.write` commit before they return
and raise `AuditWriteError` when the entry was not stored (full or read-only disk, a
closed log, a tampered one); the log is then unhealthy (`AuditLog.healthy`,
`AuditLog.state()`) until an append succeeds, so a server that writes from another
thread can refuse the next request.

Secrets are redacted before anything is hashed or stored: they never reach the file.

The format (version 2, in SQLite's `user_version`), so any tool can recompute it:

- `entries(seq, time, kind, payload, lists, prev_hash, hash)`: `payload` is the
  canonical JSON text of the redacted payload less its conversation lists (below);
  `hash` is the SHA-256 of the canonical JSON text of
  `[seq, time, kind, payload, prev_hash]`, with `lists` appended when it is not null;
  the first entry's `prev_hash` is 64 zeros.
- Conversation lists (every non-empty list under `messages`, `input`, `contents`,
  `tools` or `system`, at any depth) are stored once, so that a session costs storage
  in proportion to what is new in each request: `blobs(hash, content)` holds each
  item's canonical JSON under its SHA-256; `links(hash, prev, blob)` chains a list's
  items, a link's hash being the SHA-256 of `prev + blob` (hex text; `prev` is 64 zeros
  for a list's first item). An entry's `lists` is the canonical JSON text of an object
  mapping each moved list's JSON Pointer to the hash of its last link, so the chain
  covers every item.
- `head(id, entries, last_hash, mac)`: one row; `mac` is null when the log is not keyed.
"""

from offswitch.guard.audit._format import (
    KEY_VARIABLE,
    ZERO_HASH,
    AuditError,
    AuditWriteError,
    Head,
    canonical_json,
    entry_hash,
    read_key,
)
from offswitch.guard.audit._log import AuditLog, AuditState
from offswitch.guard.audit._read import AuditEntry, Verification, entries, verify
from offswitch.guard.audit._redact import REDACTED, redact

__all__ = [
    "KEY_VARIABLE",
    "REDACTED",
    "ZERO_HASH",
    "AuditEntry",
    "AuditError",
    "AuditLog",
    "AuditState",
    "AuditWriteError",
    "Head",
    "Verification",
    "canonical_json",
    "entries",
    "entry_hash",
    "read_key",
    "redact",
    "verify",
]
