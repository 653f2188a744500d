"""Package faces that import their names on first use (PEP 562).

A face lists each public name with the module defining it; the module is imported
only when the name is first read, so importing the package stays cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_face(
    package: str, sources: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for `package`, serving each name from its source module."""

    def __getattr__(name: str) -> Any:
        if name not in sources:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(sources[name]), name)

    def __dir__() -> list[str]:
        return sorted(sources)

    return __getattr__, __dir__
