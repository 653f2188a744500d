"""The audit log: a hash chain that shows tampering, and secrets that never reach the file."""

import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from offswitch.cli.guard_audit import audit
from offswitch.guard.audit import (
    KEY_VARIABLE,
    REDACTED,
    ZERO_HASH,
    AuditError,
    AuditLog,
    AuditWriteError,
    Head,
    canonical_json,
    entries,
    redact,
    verify,
)


@pytest.fixture(autouse=True)
def no_key_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_VARIABLE, raising=False)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "audit.db"


def write_log(path: Path, count: int) -> None:
    with AuditLog(path) as log:
        for n in range(1, count + 1):
            log.append("decision", {"n": n, "decision": "allow", "tool": "bash"})


def tamper(path: Path, *statements: str) -> None:
    connection = sqlite3.connect(path)
    with connection:
        for statement in statements:
            connection.execute(statement)
    connection.close()


def recomputed_hash(row: tuple) -> str:
    """The hash of a stored row, computed the way the format documents it."""
    seq, time, kind, payload, prev_hash = row
    text = json.dumps(
        [seq, time, kind, payload, prev_hash],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def rehash(path: Path, seq: int) -> None:
    """Recompute one entry's hash from its (edited) content, as an attacker would."""
    connection = sqlite3.connect(path)
    row = connection.execute(
        "SELECT seq, time, kind, payload, prev_hash FROM entries WHERE seq = ?", (seq,)
    ).fetchone()
    with connection:
        connection.execute("UPDATE entries SET hash = ? WHERE seq = ?", (recomputed_hash(row), seq))
    connection.close()


def write_other_database(path: Path) -> None:
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("CREATE TABLE entries (seq INTEGER PRIMARY KEY, note TEXT)")
    connection.close()


def invoke(*args: str | Path):
    return CliRunner().invoke(audit, [str(arg) for arg in args])


# --- the chain ----------------------------------------------------------------------------------


def test_appended_entries_form_a_chain_that_verifies(path: Path) -> None:
    with AuditLog(path) as log:
        written = [log.append("decision", {"n": n, "text": "grüße"}) for n in range(3)]

    assert [entry.seq for entry in written] == [1, 2, 3]
    assert written[0].prev_hash == ZERO_HASH
    assert [entry.prev_hash for entry in written[1:]] == [entry.hash for entry in written[:-1]]
    assert written[0].time.endswith("+00:00")
    assert list(entries(path)) == written
    connection = sqlite3.connect(path)
    rows = connection.execute("SELECT seq, time, kind, payload, prev_hash, hash FROM entries")
    assert [recomputed_hash(row[:5]) for row in rows] == [entry.hash for entry in written]
    connection.close()

    result = verify(path)
    assert result.ok and result.entries == 3 and result.last_hash == written[-1].hash
    assert result.row is None and result.problem is None


def test_write_stores_what_append_would(path: Path, tmp_path: Path) -> None:
    payload = {"b": 1, "api_key": "sk-test-SECRET-123", "a": ["x", "ü"]}
    with AuditLog(path) as log:
        assert log.write("decision", payload) is None
        log.write("exchange", {"n": 2})
    with AuditLog(tmp_path / "appended.db") as log:
        appended = [log.append("decision", payload), log.append("exchange", {"n": 2})]
    written = list(entries(path))
    assert [(e.seq, e.kind, e.payload) for e in written] == [
        (e.seq, e.kind, e.payload) for e in appended
    ]
    assert written[0].payload["api_key"] == REDACTED
    assert verify(path).ok


def test_an_empty_log_verifies(path: Path) -> None:
    AuditLog(path).close()
    result = verify(path)
    assert result.ok and result.entries == 0 and result.last_hash is None


def test_reopening_continues_the_chain(path: Path) -> None:
    write_log(path, 3)
    last = list(entries(path))[-1]
    with AuditLog(path) as log:
        entry = log.append("decision", {"n": 4})
    assert entry.seq == 4 and entry.prev_hash == last.hash
    result = verify(path)
    assert result.ok and result.entries == 4 and result.last_hash == entry.hash


def test_the_payload_is_stored_as_canonical_json(path: Path) -> None:
    with AuditLog(path) as log:
        log.append("decision", {"b": 1, "a": ["x", "ü"]})
    connection = sqlite3.connect(path)
    (payload,) = connection.execute("SELECT payload FROM entries").fetchone()
    connection.close()
    assert payload == '{"a":["x","ü"],"b":1}'


def test_a_lone_surrogate_in_a_payload_is_kept_and_verifies(path: Path) -> None:
    with AuditLog(path) as log:
        entry = log.append("decision", {"arguments": "half a pair: \ud800"})
    assert entry.payload == {"arguments": "half a pair: \ud800"}
    assert next(entries(path)).payload == entry.payload
    assert verify(path).ok


def test_appending_after_close_fails_clearly(path: Path) -> None:
    log = AuditLog(path)
    log.close()
    log.close()
    with pytest.raises(AuditError, match="closed"):
        log.append("decision", {})


def test_concurrent_appends_keep_one_chain(path: Path) -> None:
    with AuditLog(path) as log:

        def append_many(thread: int) -> None:
            for n in range(200):
                log.append("decision", {"thread": thread, "n": n})

        threads = [threading.Thread(target=append_many, args=(t,)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    result = verify(path)
    assert result.ok and result.entries == 1600
    stored = list(entries(path))
    assert [entry.seq for entry in stored] == list(range(1, 1601))
    for t in range(8):
        ns = [entry.payload["n"] for entry in stored if entry.payload["thread"] == t]
        assert ns == list(range(200))


# --- tampering ----------------------------------------------------------------------------------


def test_an_edited_payload_is_named(path: Path) -> None:
    write_log(path, 40)
    tamper(path, """UPDATE entries SET payload = '{"decision":"block","n":17}' WHERE seq = 17""")
    result = verify(path)
    assert not result.ok and result.row == 17
    assert result.problem == "entry 17 was changed: its hash does not match its content"
    assert result.entries == 40


def test_an_edited_and_rehashed_payload_breaks_the_next_link(path: Path) -> None:
    write_log(path, 40)
    tamper(path, """UPDATE entries SET payload = '{"decision":"block","n":17}' WHERE seq = 17""")
    rehash(path, 17)
    result = verify(path)
    assert not result.ok and result.row == 18
    assert result.problem is not None
    assert result.problem.startswith("entry 18 does not follow entry 17: the chain is broken")
    assert "entry 17 or 18 was rewritten" in result.problem


def test_a_rehashed_newest_entry_disagrees_with_the_head(path: Path) -> None:
    write_log(path, 40)
    tamper(path, """UPDATE entries SET payload = '{"decision":"block","n":40}' WHERE seq = 40""")
    rehash(path, 40)
    result = verify(path)
    assert not result.ok and result.row == 40
    assert result.problem is not None and "but entry 40 has hash" in result.problem


def test_a_deleted_middle_entry_is_named(path: Path) -> None:
    write_log(path, 40)
    tamper(path, "DELETE FROM entries WHERE seq = 17")
    result = verify(path)
    assert not result.ok and result.row == 17
    assert result.problem == "entry 17 is missing: entry 18 follows entry 16"


def test_a_deleted_first_entry_is_named(path: Path) -> None:
    write_log(path, 5)
    tamper(path, "DELETE FROM entries WHERE seq = 1")
    result = verify(path)
    assert not result.ok and result.row == 1
    assert result.problem == "entry 1 is missing: the log starts at entry 2"


def test_deleted_newest_entries_disagree_with_the_head(path: Path) -> None:
    write_log(path, 42)
    tamper(path, "DELETE FROM entries WHERE seq > 40")
    result = verify(path)
    assert not result.ok and result.row == 41
    assert result.problem == "the log ends at entry 40 but its head records 42 entries"


def test_deleting_every_entry_disagrees_with_the_head(path: Path) -> None:
    write_log(path, 3)
    tamper(path, "DELETE FROM entries")
    result = verify(path)
    assert not result.ok and result.row == 1
    assert result.problem == "the log has no entries but its head records 3 entries"


@pytest.mark.parametrize(
    "statements",
    [
        pytest.param(
            (
                "UPDATE entries SET seq = -1 WHERE seq = 17",
                "UPDATE entries SET seq = 17 WHERE seq = 18",
                "UPDATE entries SET seq = 18 WHERE seq = -1",
            ),
            id="seq values swapped",
        ),
        pytest.param(
            (
                "CREATE TEMP TABLE saved AS SELECT * FROM entries WHERE seq IN (17, 18)",
                "UPDATE entries SET (time, kind, payload, prev_hash, hash) = (SELECT time, kind,"
                " payload, prev_hash, hash FROM saved WHERE saved.seq = 35 - entries.seq)"
                " WHERE seq IN (17, 18)",
            ),
            id="contents swapped",
        ),
    ],
)
def test_reordered_entries_break_the_chain(path: Path, statements: tuple[str, ...]) -> None:
    write_log(path, 40)
    tamper(path, *statements)
    result = verify(path)
    assert not result.ok and result.row == 17
    assert result.problem is not None
    assert result.problem.startswith("entry 17 does not follow entry 16: the chain is broken")


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ("UPDATE head SET entries = 41", "the log has 42 entries but its head records 41"),
        ("UPDATE head SET entries = 43", "the log ends at entry 42 but its head records 43"),
        (f"UPDATE head SET last_hash = '{'a' * 64}'", "the head records last hash aaaaaaaaaaaa…"),
        ("DELETE FROM head", "the head is missing"),
    ],
)
def test_an_edited_head_is_detected(path: Path, statement: str, problem: str) -> None:
    write_log(path, 42)
    tamper(path, statement)
    result = verify(path)
    assert not result.ok
    assert result.problem is not None and result.problem.startswith(problem)


def test_a_log_whose_head_was_edited_is_not_extended(path: Path) -> None:
    write_log(path, 5)
    tamper(path, "UPDATE head SET entries = 4")
    with pytest.raises(AuditError, match="tampered with"):
        AuditLog(path)


# --- files that are not audit logs --------------------------------------------------------------


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="does not exist"):
        verify(tmp_path / "nowhere.db")
    with pytest.raises(AuditError, match="does not exist"):
        entries(tmp_path / "nowhere.db")
    assert not (tmp_path / "nowhere.db").exists()


def test_a_sqlite_file_of_another_kind_is_refused_and_left_alone(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    write_other_database(other)
    before = other.read_bytes()

    for open_it in (AuditLog, verify, entries):
        with pytest.raises(AuditError, match="not an offswitch audit log: a SQLite database"):
            open_it(other)
    assert other.read_bytes() == before


def test_a_text_file_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all\n" * 10)
    for open_it in (AuditLog, verify, entries):
        with pytest.raises(AuditError, match="not an offswitch audit log: not a SQLite database"):
            open_it(text)
    assert text.read_text() == "not a database at all\n" * 10


# --- secrets ------------------------------------------------------------------------------------

BEARER_KEY = "sk-live-4f9QpZt7LmX2vRk8"
API_KEY = "ak_77f3c2e9a1b84d6e"
MESSAGE_KEY = "sk-proj-Hq83nB5xWc1LpT6zYv0"


def test_secrets_never_reach_the_file(path: Path) -> None:
    payload = {
        "headers": {"Authorization": f"Bearer {BEARER_KEY}", "Content-Type": "application/json"},
        "body": {"api_key": API_KEY, "model": "subject-model"},
        "message": f"copy the weights to backup-host-7 using {MESSAGE_KEY} tonight",
    }
    files = [path, path.with_name("audit.db-wal"), path.with_name("audit.db-shm")]
    with AuditLog(path) as log:
        entry = log.append("request", payload)
        while_open = b"".join(file.read_bytes() for file in files if file.exists())
    after_close = b"".join(file.read_bytes() for file in files if file.exists())

    assert entry.payload["headers"]["Authorization"] == REDACTED
    assert entry.payload["body"] == {"api_key": REDACTED, "model": "subject-model"}
    assert entry.payload["message"] == f"copy the weights to backup-host-7 using {REDACTED} tonight"
    for content in (while_open, after_close):
        for secret in (BEARER_KEY, API_KEY, MESSAGE_KEY):
            assert secret.encode() not in content
        assert b"copy the weights to backup-host-7 using" in content
        assert b"subject-model" in content
    assert payload["body"]["api_key"] == API_KEY


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def-ghi_jkl", "Authorization: [redacted]"),
        ("sent bearer eyJhbGciOiJIUzI1NiJ9.e30.x", "sent bearer [redacted]"),
        ("key sk-ant-api03-AbCdEf12_-x end", "key [redacted] end"),
        ("AWS AKIAIOSFODNN7EXAMPLE here", "AWS [redacted] here"),
        ("gh ghp_0123456789abcdefABCDEF0123456789abcd", "gh [redacted]"),
        ("slack xoxb-1234567890-abcdefghij", "slack [redacted]"),
        ("https://x.test/?api_key=s3cr3t&page=2", "https://x.test/?api_key=[redacted]&page=2"),
        (
            '{"password": "hunter2 \\"quoted\\"", "user": "ada"}',
            '{"password": "[redacted]", "user": "ada"}',
        ),
        (
            "client_secret='abc' X-Api-Key: k-123",
            "client_secret='[redacted]' X-Api-Key: [redacted]",
        ),
        ('{\\"token\\":\\"t-999\\"}', '{\\"token\\":\\"[redacted]\\"}'),
        ("max_tokens=100, task-force, risk-assessment, sk-short", None),
        ("use bearer tokens for auth", None),
    ],
)
def test_secrets_in_text_are_redacted(text: str, expected: str | None) -> None:
    assert redact(text) == (text if expected is None else expected)


def test_secret_keys_are_matched_ignoring_case_dashes_and_underscores() -> None:
    value = {
        "X-API-KEY": "a",
        "openai_api_key": "b",
        "Proxy_Authorization": "c",
        "Set-Cookie": "d",
        "refreshToken": "e",
        "PASSWORD": {"nested": "f"},
        "headers": [("authorization", "g"), ("accept", "text/plain")],
        "tokens_used": 12,
    }
    assert redact(value) == {
        "X-API-KEY": REDACTED,
        "openai_api_key": REDACTED,
        "Proxy_Authorization": REDACTED,
        "Set-Cookie": REDACTED,
        "refreshToken": REDACTED,
        "PASSWORD": REDACTED,
        "headers": [["authorization", REDACTED], ["accept", "text/plain"]],
        "tokens_used": 12,
    }
    assert value["X-API-KEY"] == "a"


# --- the command line ---------------------------------------------------------------------------


def test_cli_verify_reports_an_intact_log(path: Path) -> None:
    write_log(path, 1001)
    result = invoke("verify", path)
    assert result.exit_code == 0
    last_hash = verify(path).last_hash
    assert last_hash is not None
    assert result.stdout == f"ok: 1,001 entries, chain intact (last hash {last_hash[:12]}…)\n"


def test_cli_verify_reports_tampering(path: Path) -> None:
    write_log(path, 20)
    tamper(path, """UPDATE entries SET payload = '{"n":17}' WHERE seq = 17""")
    result = invoke("verify", path)
    assert result.exit_code == 1
    assert result.stdout == (
        "TAMPERED at entry 17: entry 17 was changed: its hash does not match its content\n"
    )


def test_cli_verify_prints_json(path: Path) -> None:
    write_log(path, 20)
    assert json.loads(invoke("verify", path, "--format", "json").stdout)["ok"] is True
    tamper(path, "DELETE FROM entries WHERE seq = 5")
    result = invoke("verify", path, "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "ok": False,
        "entries": 19,
        "last_hash": verify(path).last_hash,
        "row": 5,
        "problem": "entry 5 is missing: entry 6 follows entry 4",
        "keyed": False,
        "expected": 0,
        "unchecked": None,
    }


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.write_text("hello\n" * 50), "not a SQLite database"),
        (write_other_database, "a SQLite database of another kind"),
    ],
)
def test_cli_refuses_what_is_not_an_audit_log(
    tmp_path: Path, make: Callable[[Path], object], message: str
) -> None:
    target = tmp_path / "target.db"
    make(target)
    for args in (("verify", target), ("show", target)):
        result = invoke(*args)
        assert result.exit_code == 2
        assert message in result.stderr and result.stdout == ""
        assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


def test_cli_show_prints_entries_as_json_lines(path: Path) -> None:
    with AuditLog(path) as log:
        for n in range(5):
            log.append("decision" if n % 2 else "request", {"n": n, "api_key": "k-secret"})

    lines = invoke("show", path).stdout.splitlines()
    first = json.loads(lines[0])
    assert len(lines) == 5 and list(first) == ["seq", "time", "kind", "payload", "hash"]
    assert first["payload"] == {"api_key": REDACTED, "n": 0}

    decisions = [
        json.loads(line) for line in invoke("show", path, "--kind", "decision").stdout.splitlines()
    ]
    assert [(d["seq"], d["kind"]) for d in decisions] == [(2, "decision"), (4, "decision")]

    newest = [
        json.loads(line)["seq"] for line in invoke("show", path, "--last", "2").stdout.splitlines()
    ]
    assert newest == [4, 5]


# --- the keyed head -----------------------------------------------------------------------------

KEY = b"k3y-for-the-audit-head-0123456789"


def cut_tail(path: Path, keep: int) -> None:
    """Delete the entries after `keep` and rewrite the head to match, as an attacker would
    who has the file but not the key (the head's MAC is left as it was)."""
    tamper(
        path,
        f"DELETE FROM entries WHERE seq > {keep}",
        "UPDATE head SET entries = (SELECT COUNT(*) FROM entries),"
        " last_hash = (SELECT hash FROM entries ORDER BY seq DESC LIMIT 1)",
    )


def write_keyed_log(path: Path, count: int, key: bytes = KEY) -> None:
    with AuditLog(path, key=key) as log:
        for n in range(1, count + 1):
            log.append("decision", {"n": n, "decision": "allow", "tool": "bash"})


def test_without_a_key_a_cut_tail_with_a_rewritten_head_passes_and_verify_says_so(
    path: Path,
) -> None:
    write_log(path, 42)
    cut_tail(path, 40)
    result = verify(path)
    assert result.ok and result.entries == 40 and not result.keyed
    assert result.unchecked is not None
    assert result.unchecked.startswith(
        "the head is not keyed: cutting off the newest entries and rewriting the head cannot "
        "be detected without the key"
    )


def test_a_keyed_head_verifies_and_leaves_nothing_unchecked(path: Path) -> None:
    write_keyed_log(path, 5)
    result = verify(path, key=KEY)
    assert result.ok and result.keyed and result.entries == 5 and result.unchecked is None
    unkeyed = verify(path)
    assert unkeyed.ok and not unkeyed.keyed
    assert unkeyed.unchecked is not None
    assert unkeyed.unchecked.startswith("the head is keyed but no key was given")


def test_a_keyed_head_detects_a_cut_tail_with_a_rewritten_head(path: Path) -> None:
    write_keyed_log(path, 42)
    cut_tail(path, 40)
    result = verify(path, key=KEY)
    assert not result.ok and result.entries == 40
    assert result.problem is not None
    assert result.problem.startswith("the head's MAC does not match the key")
    with pytest.raises(AuditError, match="MAC does not match the key"):
        AuditLog(path, key=KEY)


def test_a_keyed_head_detects_an_emptied_log(path: Path) -> None:
    write_keyed_log(path, 3)
    tamper(path, "DELETE FROM entries", "UPDATE head SET entries = 0, last_hash = NULL")
    result = verify(path, key=KEY)
    assert not result.ok and result.problem is not None and "MAC does not match" in result.problem


def test_a_removed_mac_is_detected_with_the_key(path: Path) -> None:
    write_keyed_log(path, 42)
    cut_tail(path, 40)
    tamper(path, "UPDATE head SET mac = NULL")
    result = verify(path, key=KEY)
    assert not result.ok
    assert result.problem is not None and result.problem.startswith("the head has no MAC")
    with pytest.raises(AuditError, match="has no MAC"):
        AuditLog(path, key=KEY)


def test_the_key_comes_from_the_environment(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VARIABLE, KEY.decode() + "\n")
    write_log(path, 3)
    assert verify(path).keyed and verify(path, key=KEY).keyed
    assert not verify(path, key=b"another-key-of-enough-bytes").ok


def test_a_wrong_key_fails(path: Path) -> None:
    write_keyed_log(path, 3)
    other = b"another-key-of-enough-bytes"
    assert not verify(path, key=other).ok
    with pytest.raises(AuditError, match="MAC does not match"):
        AuditLog(path, key=other)


def test_a_keyed_log_is_extended_only_with_its_key(path: Path) -> None:
    write_keyed_log(path, 3)
    with pytest.raises(AuditError, match=f"its head is keyed: set {KEY_VARIABLE}"):
        AuditLog(path)
    write_log(path.with_name("unkeyed.db"), 3)
    with pytest.raises(AuditError, match="written without a key"):
        AuditLog(path.with_name("unkeyed.db"), key=KEY)


def test_a_head_rewritten_while_the_log_is_open_stops_appends(path: Path) -> None:
    with AuditLog(path, key=KEY) as log:
        for n in range(5):
            log.append("decision", {"n": n})
        cut_tail(path, 3)
        with pytest.raises(AuditWriteError, match="MAC does not match"):
            log.append("decision", {"n": 5})
        assert not log.healthy
    assert verify(path).entries == 3


@pytest.mark.parametrize("key", [b"", b"short-key"])
def test_a_short_key_is_refused(path: Path, key: bytes) -> None:
    with pytest.raises(AuditError, match="an audit key needs at least 16"):
        AuditLog(path, key=key)


# --- saved heads --------------------------------------------------------------------------------


def test_a_saved_head_catches_a_cut_tail_with_a_rewritten_head(path: Path) -> None:
    write_log(path, 40)
    saved = verify(path).head
    write_log(path, 2)  # the log goes on: 42 entries
    grown = verify(path, expect=[saved])
    assert grown.ok and grown.expected == 1 and grown.entries == 42
    assert grown.unchecked is not None and "entries after entry 40 (the newest" in grown.unchecked
    assert verify(path, expect=[verify(path).head]).unchecked is None

    cut_tail(path, 39)
    result = verify(path, expect=[saved])
    assert not result.ok and result.row == 40
    assert result.problem == (
        "the log ends at entry 39 but a saved head records entry 40: its newest entries were "
        "cut off"
    )


def test_a_saved_head_catches_a_rewritten_log(path: Path) -> None:
    write_log(path, 10)
    saved = verify(path).head
    path.unlink()
    write_log(path, 12)  # a new log, consistent in itself
    result = verify(path, expect=[saved])
    assert not result.ok and result.row == 10
    assert result.problem is not None and result.problem.endswith(": the log was rewritten")


def test_a_head_reads_back_from_its_text() -> None:
    head = Head(entries=7, last_hash="ab" * 32)
    assert str(head) == f"7:{'ab' * 32}"
    assert Head.parse(f" 7:{'AB' * 32}\n") == head
    assert Head.parse(str(Head(entries=0, last_hash=None))) == Head(entries=0, last_hash=None)
    for text in ("7", "x:" + "ab" * 32, "7:abc"):
        with pytest.raises(ValueError, match="is not a head"):
            Head.parse(text)


# --- schema objects offswitch does not create ---------------------------------------------------

DROP_DECISIONS = (
    "CREATE TRIGGER drop_decisions BEFORE INSERT ON entries WHEN NEW.kind = 'decision'"
    " BEGIN SELECT RAISE(IGNORE); END"
)
KEEP_HEAD = (
    "CREATE TRIGGER keep_head BEFORE UPDATE ON head WHEN NOT EXISTS"
    " (SELECT 1 FROM entries WHERE hash = NEW.last_hash) BEGIN SELECT RAISE(IGNORE); END"
)


def test_a_planted_trigger_fails_verify_and_stops_appends(path: Path) -> None:
    write_log(path, 5)
    tamper(path, DROP_DECISIONS, KEEP_HEAD)
    result = verify(path)
    assert not result.ok and result.entries == 5
    assert result.problem == (
        "the file holds schema objects offswitch does not create: trigger drop_decisions on "
        "entries, trigger keep_head on head"
    )
    with pytest.raises(AuditError, match="trigger drop_decisions on entries"):
        AuditLog(path)


def test_a_trigger_planted_while_the_log_is_open_stops_appends(path: Path) -> None:
    with AuditLog(path) as log:
        log.append("decision", {"n": 1})
        tamper(path, DROP_DECISIONS, KEEP_HEAD)
        for kind in ("decision", "exchange"):
            with pytest.raises(AuditWriteError, match="trigger drop_decisions on entries"):
                log.write(kind, {"n": 2})
        assert not log.healthy
        tamper(path, "DROP TRIGGER drop_decisions", "DROP TRIGGER keep_head")
        log.append("decision", {"n": 3})
        assert log.healthy
    assert [entry.payload["n"] for entry in entries(path)] == [1, 3]
    assert verify(path).ok


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ("CREATE VIEW recent AS SELECT * FROM entries", "view recent"),
        ("CREATE TABLE notes (text TEXT)", "table notes"),
        ("CREATE INDEX by_kind ON entries (kind)", "index by_kind on entries"),
    ],
)
def test_other_schema_objects_fail_verify(path: Path, statement: str, named: str) -> None:
    write_log(path, 3)
    tamper(path, statement)
    result = verify(path)
    assert not result.ok
    assert result.problem == f"the file holds schema objects offswitch does not create: {named}"
    with pytest.raises(AuditError, match=named):
        AuditLog(path)


def test_a_redefined_table_fails_verify(path: Path) -> None:
    write_log(path, 3)
    tamper(path, "ALTER TABLE entries ADD COLUMN note TEXT")
    result = verify(path)
    assert not result.ok and result.problem == "the entries table was redefined"


def test_sqlite_statistics_are_allowed(path: Path) -> None:
    write_log(path, 3)
    tamper(path, "ANALYZE")
    assert verify(path).ok
    write_log(path, 1)
    assert verify(path).entries == 4


# --- failed writes ------------------------------------------------------------------------------


def fill_up(log: AuditLog, pages: int | None = None) -> None:
    """Make the log's file full, as a full disk would (SQLite then fails with SQLITE_FULL)."""
    connection = log._connection
    assert connection is not None
    if pages is None:
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count = {pages}")


def test_a_write_to_a_full_disk_raises_and_leaves_the_log_unhealthy(path: Path) -> None:
    with AuditLog(path) as log:
        log.append("decision", {"n": 1})
        assert log.healthy and log.state().problem is None
        fill_up(log)
        big = {"n": 2, "text": "x" * 100_000}
        with pytest.raises(AuditWriteError, match="database or disk is full"):
            log.write("exchange", big)
        state = log.state()
        assert not log.healthy and not state.healthy
        assert state.problem is not None and "database or disk is full" in state.problem
        assert state.entries == 1

        fill_up(log, pages=1_000_000)
        entry = log.append("decision", {"n": 3})
        assert log.healthy and log.state().entries == entry.seq == 2
    assert [entry.payload["n"] for entry in entries(path)] == [1, 3]
    assert verify(path).ok


def test_a_closed_log_is_unhealthy(path: Path) -> None:
    log = AuditLog(path, key=KEY)
    state = log.state()
    assert state.healthy and state.keyed and state.entries == 0 and state.last_hash is None
    log.close()
    assert not log.healthy
    assert log.state().problem == f"audit log {path} is closed"
    with pytest.raises(AuditWriteError, match="closed"):
        log.write("decision", {})


# --- conversations stored once ------------------------------------------------------------------

SYSTEM = {"role": "system", "content": "You are a coding agent. Keep the shutdown config."}
TOOLS = [
    {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
    for name in ("bash", "read_file", "write_file")
]


def session(turns: int) -> list[dict]:
    """The exchanges of a session whose history grows by a user and an assistant message
    each turn, as a harness sends it."""
    history: list[dict] = [SYSTEM]
    exchanges = []
    for turn in range(turns):
        history.append({"role": "user", "content": f"step {turn}: list the files in dir{turn}"})
        answer = {"role": "assistant", "content": f"done {turn}: " + "file " * 20}
        exchanges.append(
            {
                "request_id": f"r{turn}",
                "request": {"model": "m", "messages": list(history), "tools": TOOLS},
                "response": {"choices": [{"index": 0, "message": answer}]},
            }
        )
        history.append(answer)
    return exchanges


def stored(path: Path, query: str) -> int:
    connection = sqlite3.connect(path)
    (value,) = connection.execute(query).fetchone()
    connection.close()
    return value


def test_a_long_session_costs_storage_in_proportion_to_what_is_new(path: Path) -> None:
    exchanges = session(200)
    with AuditLog(path) as log:
        for exchange in exchanges:
            log.write("exchange", exchange)

    messages = exchanges[-1]["request"]["messages"]
    assert len(messages) == 1 + 200 + 199  # system, users, answers but the last
    distinct = {canonical_json(item) for item in [*messages, *TOOLS]}
    assert stored(path, "SELECT COUNT(*) FROM blobs") == len(distinct)
    assert stored(path, "SELECT SUM(LENGTH(content)) FROM blobs") == sum(map(len, distinct))
    assert stored(path, "SELECT COUNT(*) FROM links") == len(messages) + len(TOOLS)
    longest = stored(path, "SELECT MAX(LENGTH(payload) + LENGTH(lists)) FROM entries")
    shortest = stored(path, "SELECT MIN(LENGTH(payload) + LENGTH(lists)) FROM entries")
    assert longest - shortest < 10  # only the turn number grows
    assert verify(path).ok


def test_show_reconstructs_every_request(path: Path) -> None:
    exchanges = session(30)
    exchanges[5]["request"]["messages"].append({"role": "user", "content": "an edited branch"})
    exchanges[7]["request"]["messages"] = exchanges[7]["request"]["messages"][3:]  # a window
    exchanges[9]["request"]["batch"] = [{"messages": ["a", {"/~odd key": 1}]}]
    with AuditLog(path) as log:
        written = [log.append("exchange", exchange) for exchange in exchanges]

    shown = [json.loads(line) for line in invoke("show", path).stdout.splitlines()]
    assert [canonical_json(entry["payload"]) for entry in shown] == [
        canonical_json(exchange) for exchange in exchanges
    ]
    assert [entry.payload for entry in written] == [entry["payload"] for entry in shown]
    assert verify(path).ok


def test_an_empty_list_is_kept_in_the_entry(path: Path) -> None:
    with AuditLog(path) as log:
        log.append("exchange", {"request": {"messages": [], "model": "m"}})
    assert next(entries(path)).payload == {"request": {"messages": [], "model": "m"}}
    assert stored(path, "SELECT COUNT(*) FROM blobs") == 0


def test_secrets_in_a_conversation_never_reach_the_file(path: Path) -> None:
    history = [
        {"role": "user", "content": f"deploy with api_key={API_KEY} and {MESSAGE_KEY}"},
        {"role": "assistant", "content": "ok", "headers": {"Authorization": BEARER_KEY}},
    ]
    with AuditLog(path) as log:
        log.write("exchange", {"request": {"messages": history}})
    content = b"".join(
        file.read_bytes() for file in path.parent.iterdir() if file.name.startswith(path.name)
    )
    for secret in (BEARER_KEY, API_KEY, MESSAGE_KEY):
        assert secret.encode() not in content
    [entry] = entries(path)
    assert entry.payload["request"]["messages"][0]["content"] == (
        f"deploy with api_key={REDACTED} and {REDACTED}"
    )


def test_an_edited_message_is_named_by_its_entry(path: Path) -> None:
    with AuditLog(path) as log:
        for exchange in session(10):
            log.write("exchange", exchange)
    tamper(
        path,
        'UPDATE blobs SET content = \'{"content":"step 4: nothing","role":"user"}\''
        " WHERE content LIKE '%step 4:%'",
    )
    result = verify(path)
    assert not result.ok and result.row == 5
    assert result.problem == (
        "entry 5 was changed: an item of its /request/messages does not match its hash"
    )


@pytest.mark.parametrize("table", ["blobs", "links"])
def test_a_removed_message_is_named_by_its_entry(path: Path, table: str) -> None:
    with AuditLog(path) as log:
        for exchange in session(10):
            log.write("exchange", exchange)
    blob = "(SELECT hash FROM blobs WHERE content LIKE '%step 4:%')"
    where = f"hash = {blob}" if table == "blobs" else f"blob = {blob}"
    tamper(path, f"DELETE FROM {table} WHERE {where}")
    result = verify(path)
    assert not result.ok and result.row == 5
    assert result.problem == "entry 5 was changed: an item of its /request/messages is missing"
    with pytest.raises(AuditError, match=r"entry 5 of audit log .* cannot be read"):
        list(entries(path))


# --- the command line: keys and heads -----------------------------------------------------------


def key_file(tmp_path: Path, key: bytes = KEY) -> Path:
    file = tmp_path / "audit.key"
    file.write_bytes(key + b"\n")
    return file


def test_cli_verify_notes_what_it_cannot_see_without_a_key(path: Path) -> None:
    write_log(path, 3)
    result = invoke("verify", path)
    assert result.exit_code == 0 and result.stdout.startswith("ok: 3 entries, chain intact (")
    assert result.stderr == f"note: {verify(path).unchecked}\n"
    assert "cannot be detected without the key (--audit-key or OFFSWITCH_AUDIT_KEY)" in (
        result.stderr
    )


def test_cli_verify_checks_the_key_from_a_file(path: Path, tmp_path: Path) -> None:
    write_keyed_log(path, 42)
    intact = invoke("verify", path, "--audit-key", key_file(tmp_path))
    assert intact.exit_code == 0 and intact.stderr == ""
    assert intact.stdout.startswith("ok: 42 entries, chain intact, head key checked (last hash")

    cut_tail(path, 40)
    result = invoke("verify", path, "--audit-key", key_file(tmp_path))
    assert result.exit_code == 1
    assert result.stdout.startswith("TAMPERED: the head's MAC does not match the key")


def test_cli_refuses_a_key_it_cannot_use(path: Path, tmp_path: Path) -> None:
    write_log(path, 3)
    result = invoke("verify", path, "--audit-key", key_file(tmp_path, b"short"))
    assert result.exit_code == 2 and "an audit key needs at least 16" in result.stderr
    missing = invoke("verify", path, "--audit-key", tmp_path / "nowhere.key")
    assert missing.exit_code == 2 and "does not exist" in missing.stderr


def test_cli_head_prints_a_head_that_verify_expects(path: Path) -> None:
    write_log(path, 40)
    printed = invoke("head", path)
    assert printed.exit_code == 0 and printed.stdout == f"40:{verify(path).last_hash}\n"
    saved = printed.stdout.strip()
    write_log(path, 2)

    found = invoke("verify", path, "--expect", saved)
    assert found.exit_code == 0
    assert found.stdout.startswith("ok: 42 entries, chain intact, 1 saved head found (")
    assert "entries after entry 40 (the newest saved head)" in found.stderr

    cut_tail(path, 39)
    result = invoke("verify", path, "--expect", saved)
    assert result.exit_code == 1
    assert result.stdout.startswith("TAMPERED at entry 40: the log ends at entry 39")


def test_cli_head_refuses_a_tampered_log(path: Path) -> None:
    write_log(path, 5)
    tamper(path, DROP_DECISIONS)
    result = invoke("head", path)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("TAMPERED: the file holds schema objects")


def test_cli_verify_refuses_a_malformed_head(path: Path) -> None:
    write_log(path, 3)
    result = invoke("verify", path, "--expect", "three")
    assert result.exit_code == 2 and "is not a head" in result.stderr


@pytest.mark.parametrize(
    "payload",
    [
        {"messages": ["password", "hunter2"]},  # a secret pair, not a conversation
        {"token": {"messages": [{"role": "user", "content": "hi"}]}},
        {"headers": [("authorization", {"messages": ["x"]})]},
        {"request": {"input": [{"content": f"use {MESSAGE_KEY}"}, ("api_key", "k-1")]}},
    ],
)
def test_stored_lists_are_redacted_as_the_whole_payload_would_be(path: Path, payload: dict) -> None:
    with AuditLog(path) as log:
        log.write("exchange", payload)
        log.write("exchange", payload)  # the second time from what the writer remembers
    expected = json.loads(canonical_json(redact(payload)))
    assert [entry.payload for entry in entries(path)] == [expected, expected]
    content = b"".join(
        file.read_bytes() for file in path.parent.iterdir() if file.name.startswith(path.name)
    )
    for secret in (b"hunter2", MESSAGE_KEY.encode(), b"k-1"):
        assert secret not in content


def test_a_message_edited_into_two_is_not_read_as_two(path: Path) -> None:
    with AuditLog(path) as log:
        log.write("exchange", {"request": {"messages": [{"n": 1}, {"n": 2}]}})
    tamper(path, """UPDATE blobs SET content = '{"n":1},{"n":3}' WHERE content = '{"n":1}'""")
    with pytest.raises(AuditError, match="an item holds more than one value"):
        list(entries(path))
    assert verify(path).row == 1
