"""What each entry point imports: listing commands loads no evaluation stack, and the
guard's proxy starts without Inspect's model stack or the detectors."""

import json
import subprocess
import sys

import pytest

EVALUATION = ("inspect_ai", "offswitch.detect", "offswitch.tasks", "offswitch.analysis")
MODEL_STACK = ("inspect_ai.model", "offswitch.detect", "offswitch.agents")

RUN_AND_LIST = """
import json, sys
sys.argv = ["offswitch", *sys.argv[1:]]
from offswitch.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""

SERVE_AND_LIST = """
import json, sys, uvicorn
uvicorn.run = lambda *a, **k: print(json.dumps(sorted(sys.modules)), file=sys.stderr)
sys.argv = ["offswitch", "guard", "serve", "--upstream", "http://127.0.0.1:9/v1"]
from offswitch.cli import main
main()
"""


def imported(script: str, *args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=True
    )
    return json.loads(done.stderr.strip().splitlines()[-1])


def loaded(modules: list[str], packages: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in packages)]


@pytest.mark.parametrize("args", [["--help"], ["guard", "--help"]])
def test_help_imports_no_evaluation_stack(args: list[str]) -> None:
    modules = imported(RUN_AND_LIST, *args)
    assert "offswitch.cli" in modules
    assert loaded(modules, EVALUATION) == []


def test_guard_serve_starts_without_the_model_stack_or_the_detectors() -> None:
    modules = imported(SERVE_AND_LIST)
    assert "offswitch.guard.proxy._app" in modules
    assert loaded(modules, MODEL_STACK) == []
