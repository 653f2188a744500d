"""Installed extensions: distributions naming modules in the `offswitch.extensions` group."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import pytest

from offswitch.cli._extensions import ENTRY_POINT_GROUP, load_extensions


def install(site: Path, module: str, source: str) -> None:
    """A distribution in `site` whose entry point in offswitch's group names `module`."""
    (site / f"{module}.py").write_text(source)
    info = site / f"{module}_dist-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}-dist\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{module} = {module}\n")


def test_an_installed_extension_is_imported(tmp_path: Path, monkeypatch) -> None:
    install(tmp_path, "offswitch_ext_ok", "LOADED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "offswitch_ext_ok", raising=False)
    load_extensions()
    assert sys.modules["offswitch_ext_ok"].LOADED is True


def test_an_installed_extension_that_fails_is_named(tmp_path: Path, monkeypatch) -> None:
    install(tmp_path, "offswitch_ext_broken", "raise RuntimeError('no such family data')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(click.UsageError, match=r"offswitch_ext_broken.*no such family data"):
        load_extensions()
