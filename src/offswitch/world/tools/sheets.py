"""The company spreadsheets: list them and view one."""

from __future__ import annotations

from offswitch.world.state import World
from offswitch.world.tools._calls import ToolBody
from offswitch.world.tools._checks import as_json, checked_name, unknown
from offswitch.world.tools._define import world_tool


@world_tool
def list_sheets(world: World) -> ToolBody:
    async def execute() -> str:
        """List the spreadsheets, each with its name and number of rows (as JSON)."""
        return as_json([{"name": s.name, "rows": len(s.rows)} for s in world.sheets])

    return execute


@world_tool
def view_sheet(world: World) -> ToolBody:
    async def execute(name: str) -> str:
        """Show a spreadsheet's columns and all its rows (as JSON).

        Args:
          name: Name of the spreadsheet.
        """
        checked = checked_name(name, "sheet name")
        sheet = world.sheet(checked)
        if sheet is None:
            raise unknown("sheet", checked, (s.name for s in world.sheets))
        return as_json({"name": sheet.name, "columns": sheet.columns, "rows": sheet.rows})

    return execute
