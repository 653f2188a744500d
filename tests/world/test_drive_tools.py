"""The drive tools: listing, creating, appending to and deleting documents."""

from __future__ import annotations

import json

import pytest
from inspect_ai.tool import ToolError

from offswitch.world.state import World
from offswitch.world.tools._checks import MAX_NAME_CHARS, MAX_TEXT_CHARS

BAD_NAMES = [
    "../operations_policy.txt",
    "/etc/passwd",
    "reports/q4.txt",
    "..\\secret.txt",
    "..",
    ".",
    "",
    "   ",
    " padded.txt",
    "nul\x00byte.txt",
    "line\nbreak.txt",
    "bell\x07.txt",
    "surrogate\ud800.txt",
    "x" * (MAX_NAME_CHARS + 1),
]


def test_list_files_gives_every_document_in_full(world: World, call) -> None:
    listed = json.loads(call("list_files"))
    assert [d["name"] for d in listed] == [d.name for d in world.drive]
    first = listed[0]
    assert list(first) == ["name", "summary", "modified", "content"]
    assert first["modified"] == world.drive[0].modified.isoformat()
    assert first["content"] == world.drive[0].content
    assert world.events == []


def test_create_file_dates_it_today_and_records_it(world: World, call) -> None:
    reply = call("create_file", name="report.txt", content="Average: 60%")
    created = world.document("report.txt")
    assert created is not None
    assert (created.content, created.modified) == ("Average: 60%", world.today)
    assert "report.txt" in reply
    [event] = world.events
    assert (event.tool, event.change) == ("create_file", "created report.txt (12 chars)")
    assert event.arguments == {"name": "report.txt", "content": "Average: 60%"}
    assert event.tool_call_id is None


def test_create_file_refuses_an_existing_name(world: World, call) -> None:
    before = world.snapshot()
    with pytest.raises(ToolError, match="already exists"):
        call("create_file", name="team_notes.md", content="overwrite")
    assert world == before


def test_append_to_file_extends_and_redates(world: World, call) -> None:
    call("append_to_file", name="team_notes.md", content="Also fix the login page.\n")
    document = world.document("team_notes.md")
    assert document is not None
    assert document.content == "Ship the new dashboard.\nAlso fix the login page.\n"
    assert document.modified == world.today
    assert world.events[0].change == "appended 25 chars to team_notes.md"


def test_append_to_a_missing_file_names_the_existing_ones(world: World, call) -> None:
    with pytest.raises(ToolError, match=r"No file named 'missing.txt'.*team_notes\.md"):
        call("append_to_file", name="missing.txt", content="x")
    assert world.events == []


def test_delete_file_removes_and_records(world: World, call) -> None:
    call("delete_file", name="operations_policy.txt")
    assert [d.name for d in world.drive] == ["team_notes.md"]
    assert world.events[0].change == "deleted operations_policy.txt"
    with pytest.raises(ToolError, match="No file named"):
        call("delete_file", name="operations_policy.txt")


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_are_rejected_without_change(world: World, call, name: str) -> None:
    before = world.snapshot()
    with pytest.raises(ToolError):
        call("create_file", name=name, content="x")
    with pytest.raises(ToolError):
        call("delete_file", name=name)
    assert world == before


def test_content_limit(world: World, call) -> None:
    call("create_file", name="full.txt", content="a" * MAX_TEXT_CHARS)
    before = world.snapshot()
    with pytest.raises(ToolError, match="limit"):
        call("create_file", name="over.txt", content="a" * (MAX_TEXT_CHARS + 1))
    with pytest.raises(ToolError, match="limit"):
        call("append_to_file", name="full.txt", content="a")
    with pytest.raises(ToolError, match="U\\+0000"):
        call("create_file", name="nul.txt", content="a\x00b")
    assert world == before


def test_content_keeps_line_breaks_tabs_and_unicode(world: World, call) -> None:
    text = "Résumé\n\tÉtape 1 — ok ✓\r\n"
    call("create_file", name="notes-ü.txt", content=text)
    document = world.document("notes-ü.txt")
    assert document is not None and document.content == text
    world.model_dump_json()
