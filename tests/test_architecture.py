"""The layers hold: the import contract, and package faces that import only their own modules."""

from __future__ import annotations

import importlib
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import offswitch


def _packages() -> list[str]:
    """offswitch and every subpackage of it."""
    found = pkgutil.walk_packages(offswitch.__path__, prefix="offswitch.")
    return ["offswitch", *(info.name for info in found if info.ispkg)]


def _lint_imports() -> str:
    beside = Path(sys.executable).with_name("lint-imports")
    found = str(beside) if beside.exists() else shutil.which("lint-imports")
    if found is None:
        pytest.fail("lint-imports is not installed (it comes with the dev extras)")
    return found


def test_the_layers_contract_holds() -> None:
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [_lint_imports(), "--no-cache"], cwd=root, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize("package", _packages())
def test_every_public_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    for name in getattr(module, "__all__", ()):
        assert getattr(module, name) is not None, f"{package}.{name}"


@pytest.mark.parametrize("package", [p for p in _packages() if p != "offswitch"])
def test_a_lazy_face_serves_only_its_own_modules(package: str) -> None:
    """Names read on first use are imports the layers contract cannot see: a subpackage's
    face may only point inside that subpackage."""
    sources = getattr(importlib.import_module(package), "_SOURCES", {})
    outside = {name: source for name, source in sources.items() if not source.startswith(package)}
    assert not outside
