"""One error style for every command: a clear message and exit status 2, never a traceback.

Errors that come from what the user asked for (a name, a file, a model) are raised as the
project's own exception types; `clear_errors` turns them into a `click.UsageError`, which
click prints as `Error: ...` after the usage line and exits with status 2.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


class CommandError(click.ClickException):
    """The command cannot go on (for example, no episodes to report): exit status 2."""

    exit_code = 2


def clear_errors(command: F) -> F:
    """Turn the project's own errors into a clear message and exit status 2."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        from offswitch.guard.policy import PolicyError
        from offswitch.scenarios.families import UnknownFamily
        from offswitch.scenarios.matrix import MatrixError
        from offswitch.scenarios.render import RenderError

        try:
            return command(*args, **kwargs)
        except (MatrixError, UnknownFamily, RenderError, PolicyError) as error:
            raise click.UsageError(str(error)) from None

    return run  # type: ignore[return-value]
