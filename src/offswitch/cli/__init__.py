"""The `offswitch` command line."""

from offswitch.cli._main import main

__all__ = ["main"]
