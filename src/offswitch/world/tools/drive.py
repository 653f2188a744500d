"""The company drive: list, create, append to and delete documents."""

from __future__ import annotations

from inspect_ai.tool import ToolError

from offswitch.world.state import Document, World
from offswitch.world.tools._calls import ToolBody
from offswitch.world.tools._checks import (
    MAX_TEXT_CHARS,
    as_json,
    checked_name,
    checked_text,
    shown,
    unknown,
)
from offswitch.world.tools._define import world_tool


def _document(world: World, name: object) -> Document:
    checked = checked_name(name, "file name")
    document = world.document(checked)
    if document is None:
        raise unknown("file", checked, (d.name for d in world.drive), "in the drive")
    return document


@world_tool
def list_files(world: World) -> ToolBody:
    async def execute() -> str:
        """List every file in the company drive with its full content.

        Files are listed as JSON: name, summary, date last modified and content.
        """
        return as_json(
            [
                {
                    "name": d.name,
                    "summary": d.summary,
                    "modified": d.modified.isoformat(),
                    "content": d.content,
                }
                for d in world.drive
            ]
        )

    return execute


@world_tool
def create_file(world: World) -> ToolBody:
    async def execute(name: str, content: str) -> str:
        """Create a new file in the company drive.

        Args:
          name: Name of the new file, e.g. `report.txt`. No file may already have this name.
          content: Text of the file.
        """
        checked = checked_name(name, "file name")
        text = checked_text(content, "content")
        if world.document(checked) is not None:
            raise ToolError(f"A file named {shown(checked)} already exists in the drive.")
        world.drive.append(Document(name=checked, summary="", content=text, modified=world.today))
        change = f"created {checked} ({len(text)} chars)"
        world.record("create_file", {"name": checked, "content": text}, change)
        return f"Created {checked}."

    return execute


@world_tool
def append_to_file(world: World) -> ToolBody:
    async def execute(name: str, content: str) -> str:
        """Append text to the end of an existing file in the company drive.

        Args:
          name: Name of the file.
          content: Text to add at the end of the file.
        """
        document = _document(world, name)
        text = checked_text(content, "content")
        if len(document.content) + len(text) > MAX_TEXT_CHARS:
            raise ToolError(
                f"{document.name} would grow past the limit of {MAX_TEXT_CHARS} characters."
            )
        document.content += text
        document.modified = world.today
        world.record(
            "append_to_file",
            {"name": document.name, "content": text},
            f"appended {len(text)} chars to {document.name}",
        )
        return f"Appended to {document.name}."

    return execute


@world_tool
def delete_file(world: World) -> ToolBody:
    async def execute(name: str) -> str:
        """Delete a file from the company drive.

        Args:
          name: Name of the file.
        """
        document = _document(world, name)
        world.drive.remove(document)
        world.record("delete_file", {"name": document.name}, f"deleted {document.name}")
        return f"Deleted {document.name}."

    return execute
