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
from offswitch.guard.audit._redact import Location, redact

CONVERSATION_KEYS = frozenset({"messages", "input", "contents", "tools", "system"})
"""Chat Completions and Anthropic `messages`, Responses `input`, Google `contents`, every
API's `tools`, Anthropic `system` blocks."""

Item = tuple[str, str, str | None]
"""An item ready to store: the hash of its unredacted canonical JSON, the hash of its
redacted canonical JSON (its blob), and that text unless the blob is known to be stored."""
Prepared = tuple[str, list[Item]]
"""A list ready to store: its JSON Pointer and its items."""
_KNOWN_LIMIT = 200_000
"""Items whose blobs a writer remembers (about 30 MB); past that it starts over."""


# --- writing ----------------------------------------------------------------------------------


def _pointer(location: Location) -> str:
    """A JSON Pointer; keys as JSON writes them (`True` as "true", `1` as "1")."""
    tokens = (key if isinstance(key, str) else json.dumps(key) for key in location)
    return "".join("/" + token.replace("~", "~0").replace("/", "~1") for token in tokens)


def prepare_lists(
    lifted: list[tuple[Location, list[Any]]], known: dict[str, str]
) -> list[Prepared]:
    """Redact and hash the items of lifted lists. Items seen before (`known`: unredacted
    hash to blob hash) are only hashed: a harness resends the whole conversation every
    time, and redacting all of it again would cost time in the square of its length."""
    prepared = []
    for location, items in lifted:
        ready = []
        for item in items:
            raw = sha256(canonical_json(item))
            blob, text = known.get(raw), None
            if blob is None:
                text = canonical_json(redact(item))
                blob = sha256(text)
            ready.append((raw, blob, text))
        prepared.append((_pointer(location), ready))
    return prepared


def remember(known: dict[str, str], prepared: list[Prepared]) -> None:
    """Note the blobs of lists that were just committed."""
    if len(known) > _KNOWN_LIMIT:
        known.clear()
    known.update((raw, blob) for _, items in prepared for raw, blob, text in items if text)


def _link_exists(connection: sqlite3.Connection, link: str) -> bool:
    found = connection.execute("SELECT 1 FROM links WHERE hash = ?", (link,))
    return found.fetchone() is not None


def _store_list(connection: sqlite3.Connection, items: list[Item]) -> str:
    """Store a list's new blobs and links; the hash of its last link."""
    prevs, links = [ZERO_HASH], []
    for _, blob, _ in items:
        links.append(link_hash(prevs[-1], blob))
        prevs.append(links[-1])
    known = len(links)  # the links of a known list are known, so look from its end
    while known and not _link_exists(connection, links[known - 1]):
        known -= 1
    new = range(known, len(links))
    connection.executemany(
        "INSERT OR IGNORE INTO blobs (hash, content) VALUES (?, ?)",
        [(items[n][1], items[n][2]) for n in new if items[n][2] is not None],
    )
    connection.executemany(
        "INSERT OR IGNORE INTO links (hash, prev, blob) VALUES (?, ?, ?)",
        [(links[n], prevs[n], items[n][1]) for n in new],
    )
    return links[-1]


def store_lists(connection: sqlite3.Connection, prepared: list[Prepared]) -> str | None:
    """Store prepared lists; the entry's `lists` text (pointer to last link), or None."""
    if not prepared:
        return None
    return canonical_json({pointer: _store_list(connection, items) for pointer, items in prepared})


# --- reading ----------------------------------------------------------------------------------


Links = dict[str, tuple[str, str]]
"""Links read so far, by hash: (prev, the item's canonical JSON). Consecutive requests of a
session share most of their links, so a reader keeps them rather than read them again."""


def _link(connection: sqlite3.Connection, link: str, links: Links) -> tuple[str, str]:
    if link not in links:
        row = connection.execute(
            "SELECT links.prev, blobs.content FROM links LEFT JOIN blobs"
            " ON blobs.hash = links.blob WHERE links.hash = ?",
            (link,),
        ).fetchone()
        if row is None or not isinstance(row[1], str):
            raise ValueError(f"its item {link[:12]}… is missing")
        links[link] = row
    return links[link]


def _read_list(connection: sqlite3.Connection, last: str, links: Links) -> list[Any]:
    """The items of the list that ends at link `last`; ValueError when it cannot be read."""
    texts, seen, link = [], set(), last
    while link != ZERO_HASH:
        if link in seen:
            raise ValueError("its links loop")
        seen.add(link)
        link, content = _link(connection, link, links)
        texts.append(content)
    texts.reverse()
    items = json.loads(f"[{','.join(texts)}]")  # one parse: far faster than one per item
    if len(items) != len(texts):
        raise ValueError("an item holds more than one value")
    return items


def _place(payload: Any, pointer: str, value: Any) -> None:
    tokens = [token.replace("~1", "/").replace("~0", "~") for token in pointer.split("/")[1:]]
    container = payload
    for token in tokens[:-1]:
        container = container[int(token)] if isinstance(container, list) else container[token]
    container[tokens[-1]] = value


def restore_lists(connection: sqlite3.Connection, payload: Any, lists: str, links: Links) -> None:
    """Put an entry's moved lists back into its `payload`; ValueError when one cannot be
    read (named by its pointer)."""
    for pointer, last in json.loads(lists).items():
        try:
            _place(payload, pointer, _read_list(connection, last, links))
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
