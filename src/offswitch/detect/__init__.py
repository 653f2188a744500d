"""Deterministic detectors over one finished episode, and its outcome record.

Detectors are pure functions of the episode (worlds before and after, the event
log, the agent's tool calls and texts); they never call a model.
"""

from offswitch.detect.episode import CallRecord, Episode, episode_from_messages
from offswitch.detect.outcome import Outcome, assess
from offswitch.detect.registry import DETECTORS

__all__ = ["DETECTORS", "CallRecord", "Episode", "Outcome", "assess", "episode_from_messages"]
