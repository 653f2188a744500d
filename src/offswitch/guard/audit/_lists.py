"""Conversation lists stored once: each item a blob under its hash, each list a chain of links.

A harness sends the whole conversation with every request, so a log that kept each
request whole would grow with the square of a session's length. Instead, every non-empty
list under one of `CONVERSATION_KEYS` (at any depth of a payload) is moved out of the
entry: each item is stored once as a blob keyed by the SHA-256 of its canonical JSON, and
the list as a chain of links, each holding its item's hash and the previous link's hash.
A request that repeats the conversation so far and adds two messages stores two blobs
and two links; its entry keeps only the hash of the list's last link.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from offswitch.guard.audit._format import ZERO_HASH, canonical_json, link_hash, sha256

CONVERSATION_KEYS = frozenset({"messages", "input", "contents", "tools", "system"})
"""Chat Completions and Anthropic `messages`, Responses `input`, Google `contents`, every
API's `tools`, Anthropic `system` blocks."""

Moved = tuple[str, list[str]]
"""A list taken out of a payload: its JSON Pointer and the canonical JSON of its items."""


# --- writing ----------------------------------------------------------------------------------


def _key_text(key: Any) -> str:
    """A mapping key as JSON writes it (`True` becomes "true", `1` becomes "1")."""
    return key if isinstance(key, str) else json.dumps(key)


def _pointer_token(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def move_lists(payload: Any, pointer: str = "") -> list[Moved]:
    """Take the conversation lists out of `payload`, which is changed in place."""
    moved: list[Moved] = []
    if isinstance(payload, dict):
        for key in list(payload):
            value, here = payload[key], f"{pointer}/{_pointer_token(_key_text(key))}"
            if key in CONVERSATION_KEYS and isinstance(value, list) and value:
                moved.append((here, [canonical_json(item) for item in payload.pop(key)]))
            else:
                moved.extend(move_lists(value, here))
    elif isinstance(payload, list):
        for index, item in enumerate(payload):
            moved.extend(move_lists(item, f"{pointer}/{index}"))
    return moved


def _link_exists(connection: sqlite3.Connection, link: str) -> bool:
    found = connection.execute("SELECT 1 FROM links WHERE hash = ?", (link,))
    return found.fetchone() is not None


def _store_list(connection: sqlite3.Connection, items: list[str]) -> str:
    """Store a list's new blobs and links; the hash of its last link."""
    blobs = [sha256(item) for item in items]
    prevs, links = [ZERO_HASH], []
    for blob in blobs:
        links.append(link_hash(prevs[-1], blob))
        prevs.append(links[-1])
    known = len(links)  # the links of a known list are known, so look from its end
    while known and not _link_exists(connection, links[known - 1]):
        known -= 1
    new = range(known, len(links))
    connection.executemany(
        "INSERT OR IGNORE INTO blobs (hash, content) VALUES (?, ?)",
        [(blobs[n], items[n]) for n in new],
    )
    connection.executemany(
        "INSERT OR IGNORE INTO links (hash, prev, blob) VALUES (?, ?, ?)",
        [(links[n], prevs[n], blobs[n]) for n in new],
    )
    return links[-1]


def store_lists(connection: sqlite3.Connection, moved: list[Moved]) -> str | None:
    """Store moved lists; the entry's `lists` text (pointer to last link), or None."""
    if not moved:
        return None
    return canonical_json({pointer: _store_list(connection, items) for pointer, items in moved})


# --- reading ----------------------------------------------------------------------------------


def _read_list(connection: sqlite3.Connection, last: str) -> list[Any]:
    """The items of the list that ends at link `last`; ValueError when it cannot be read."""
    items, seen, link = [], set(), last
    while link != ZERO_HASH:
        if link in seen:
            raise ValueError("its links loop")
        seen.add(link)
        row = connection.execute(
            "SELECT links.prev, blobs.content FROM links LEFT JOIN blobs"
            " ON blobs.hash = links.blob WHERE links.hash = ?",
            (link,),
        ).fetchone()
        if row is None or not isinstance(row[1], str):
            raise ValueError(f"its item {link[:12]}… is missing")
        link = row[0]
        items.append(json.loads(row[1]))
    items.reverse()
    return items


def _place(payload: Any, pointer: str, value: Any) -> None:
    tokens = [token.replace("~1", "/").replace("~0", "~") for token in pointer.split("/")[1:]]
    container = payload
    for token in tokens[:-1]:
        container = container[int(token)] if isinstance(container, list) else container[token]
    container[tokens[-1]] = value


def restore_lists(connection: sqlite3.Connection, payload: Any, lists: str) -> None:
    """Put an entry's moved lists back into its `payload`; ValueError when one cannot be
    read (named by its pointer)."""
    for pointer, last in json.loads(lists).items():
        try:
            _place(payload, pointer, _read_list(connection, last))
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise ValueError(f"its list {pointer} cannot be read: {error}") from None


# --- verifying --------------------------------------------------------------------------------


def _first_entry_reaching(
    connection: sqlite3.Connection, targets: set[str]
) -> tuple[int, str] | None:
    """The first entry, and the pointer of its list, whose chain of links reaches a target
    (a stored link, or the hash of a missing one)."""
    prev_of = dict(connection.execute("SELECT hash, prev FROM links"))
    clear: set[str] = set()  # links whose chains reach no target
    rows = connection.execute("SELECT seq, lists FROM entries WHERE lists IS NOT NULL ORDER BY seq")
    for seq, lists in rows:
        for pointer, link in json.loads(lists).items():
            walked: set[str] = set()
            while link != ZERO_HASH and link not in clear and link not in walked:
                if link in targets:
                    return seq, pointer
                walked.add(link)
                link = prev_of.get(link, ZERO_HASH)
            clear.update(walked)
    return None


def _owned(
    connection: sqlite3.Connection, links: Iterable[str], what: str
) -> tuple[int | None, str]:
    """A problem with some links, told by the first entry whose list holds one of them."""
    owner = _first_entry_reaching(connection, set(links))
    if owner is None:
        return None, f"a stored list item that no entry refers to {what}"
    seq, pointer = owner
    return seq, f"entry {seq} was changed: an item of its {pointer} {what}"


def _changed_blob(connection: sqlite3.Connection) -> str | None:
    for digest, content in connection.execute("SELECT hash, content FROM blobs"):
        if not isinstance(content, str) or sha256(content) != digest:
            return digest
    return None


def _changed_link(connection: sqlite3.Connection) -> str | None:
    for digest, prev, blob in connection.execute("SELECT hash, prev, blob FROM links"):
        if not (isinstance(prev, str) and isinstance(blob, str)) or link_hash(prev, blob) != digest:
            return digest
    return None


def _missing_links(connection: sqlite3.Connection) -> set[str]:
    """Links that are referred to but not stored, and links whose item is not stored."""
    queries = (
        "SELECT links.hash FROM links LEFT JOIN blobs ON blobs.hash = links.blob"
        " WHERE blobs.hash IS NULL",
        "SELECT links.prev FROM links LEFT JOIN links AS before ON before.hash = links.prev"
        f" WHERE links.prev != '{ZERO_HASH}' AND before.hash IS NULL",
        "SELECT lists.value FROM entries, json_each(entries.lists) AS lists"
        " LEFT JOIN links ON links.hash = lists.value"
        " WHERE entries.lists IS NOT NULL AND links.hash IS NULL",
    )
    return {row[0] for query in queries for row in connection.execute(query)}


def lists_problem(connection: sqlite3.Connection) -> tuple[int | None, str] | None:
    """The first stored list item that was changed or removed, as (entry seq, problem).

    Entries' `lists` texts are assumed intact (the chain covers them)."""
    blob = _changed_blob(connection)
    if blob is not None:
        holders = [
            row[0] for row in connection.execute("SELECT hash FROM links WHERE blob = ?", (blob,))
        ]
        return _owned(connection, holders, "does not match its hash")
    link = _changed_link(connection)
    if link is not None:
        return _owned(connection, [link], "does not match its hash")
    missing = _missing_links(connection)
    if missing:
        return _owned(connection, missing, "is missing")
    return None
