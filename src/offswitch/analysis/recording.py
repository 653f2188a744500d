"""Episode tables written as a run goes: each log's table as soon as its task finishes.

`offswitch run` turns this on for the runs it starts (`recording_episode_tables`, inside
the context the run is started from); other Inspect runs in the same process are left
alone. When a task ends, Inspect has written its final log; the table is built from that
log, in a worker thread so that the tasks still running are not held up, and written
beside it (`offswitch.analysis.sidecar`). Building it from the finished log, rather than
from rows gathered sample by sample, is what keeps retries and resumed runs exact: an
attempt that continues a killed or failed one starts from the samples Inspect copies over
from the earlier log, and those never pass through the sample hooks.
"""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path

import anyio.to_thread
from inspect_ai.hooks import Hooks, TaskEnd, hooks

from offswitch.analysis.results import COLUMNS, log_rows
from offswitch.analysis.sidecar import write_sidecar

_RECORDING: ContextVar[bool] = ContextVar("offswitch_episode_tables", default=False)


def recording_episode_tables() -> None:
    """Write episode tables for the Inspect runs started from the current context."""
    _RECORDING.set(True)


def write_episode_table(location: str) -> Path | None:
    """Write the episode table of the finished log at `location`; None for a remote log."""
    local = location.removeprefix("file://")
    if "://" in local:
        return None
    created, rows = log_rows(local)
    return write_sidecar(local, COLUMNS, created, rows)


@hooks(
    name="offswitch_episode_tables",
    description="Writes each finished offswitch log's episode table beside it.",
)
class EpisodeTables(Hooks):
    def enabled(self) -> bool:
        return _RECORDING.get()

    async def on_task_end(self, data: TaskEnd) -> None:
        await anyio.to_thread.run_sync(write_episode_table, data.log.location)
