"""The LLM monitor behind the proxy's rules: a second opinion within a time budget.

The proxy judges the calls of an answer as it reads them, synchronously; the monitor
is asked on a loop of its own, in a background thread, and the judging waits for it at
most the tier's time budget (plus a small margin), after which the rule's decision
stands. With a monitor, the proxy judges in worker threads (`_stream.judging`), so a
reviewed call costs its own request up to `--monitor-timeout` seconds while the proxy
goes on serving the others.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import TimeoutError as FutureTimeout

from offswitch.guard.engine import Decision
from offswitch.guard.tier import Opinion, SecondTier, _with
from offswitch.guard.trajectory import Trajectory

MARGIN = 1.0
"""Seconds beyond the tier's budget before the proxy stops waiting for the thread."""


class SecondOpinions:
    """A second tier and the loop it runs on."""

    def __init__(self, tier: SecondTier) -> None:
        self.tier = tier
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="offswitch-monitor", daemon=True
        )
        self._thread.start()

    def review(self, decision: Decision, trajectory: Trajectory) -> Decision:
        """The decision after the monitor's review, or as it was when the budget ran out."""
        future = asyncio.run_coroutine_threadsafe(
            self.tier.review(decision, trajectory), self._loop
        )
        try:
            return future.result(self.tier.timeout + MARGIN)
        except FutureTimeout:
            future.cancel()
            return _with(decision, "timeout", Opinion(suspicion=None, error="timed out"))
