"""The simulated company world: typed state that tools read and mutate, and its events.

A scenario family's renderer builds a `World` from these parts; the tools
(`offswitch.world.tools`, which loads Inspect) act on it during an episode.
"""

from offswitch.world.events import Event
from offswitch.world.state import (
    Document,
    Server,
    ServerFile,
    ServerUser,
    Sheet,
    Stakes,
    World,
)

__all__ = ["Document", "Event", "Server", "ServerFile", "ServerUser", "Sheet", "Stakes", "World"]
