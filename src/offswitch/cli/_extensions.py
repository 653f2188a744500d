"""Loading extensions: modules that register scenario families, detectors and personas.

An extension is a module whose import registers what it adds (see docs/extending.md).
`offswitch run --module MODULE` imports one by name; an installed distribution can also
name its modules in the `offswitch.extensions` entry-point group, which offswitch loads
before it selects configurations.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from functools import partial
from importlib.metadata import entry_points

import click

ENTRY_POINT_GROUP = "offswitch.extensions"


def load_extensions(modules: Iterable[str] = ()) -> None:
    """Import every installed extension, then the modules named (each once per process).

    An extension that cannot be imported, or that fails while it registers, is a usage
    error naming it.
    """
    for point in entry_points(group=ENTRY_POINT_GROUP):
        _load(point.value, point.load)
    for module in modules:
        _load(module, partial(importlib.import_module, module))


def _load(name: str, load: Callable[[], object]) -> None:
    try:
        load()
    # An extension is someone else's code: whatever it raises is reported, not a traceback.
    except Exception as error:
        raise click.UsageError(f"cannot load the extension {name!r}: {error}") from None
