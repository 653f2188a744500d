"""The guard proxy fails closed: unknown paths, odd spellings, odd streams, bad bodies,
and an audit log that cannot be written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from offswitch.cli.guard_serve import serve
from offswitch.guard.audit import KEY_VARIABLE, AuditLog, entries, verify
from offswitch.guard.policy import load_policy
from offswitch.guard.proxy._app import ProxySettings, create_app
from support.model_apis import ModelApis, guarding
from support.servers import serving

ANTHROPIC = {"anthropic-version": "2023-06-01", "x-api-key": "sk-ant-SECRET"}
GEMINI = {"x-goog-api-key": "gemini-SECRET"}
AUDIT_KEY = b"a key of 32 bytes or longer, kept apart"
ASK = {"model": "shutdown", "max_tokens": 10, "input": "hi", "messages": [], "contents": []}


def _reached(scripted: ModelApis) -> int:
    return len(scripted.requests)


@pytest.mark.parametrize(
    ("method", "path", "headers", "shape"),
    [
        ("POST", "/v1/completions", {}, "openai"),
        ("GET", "/v1/responses/resp_1", {}, "openai"),
        ("POST", "/v1/messages/batches", ANTHROPIC, "anthropic"),
        ("POST", "/v1beta/models/x:embedContent", GEMINI, "gemini"),
        ("POST", "/v1/models/%2E%2E/chat/completions", {}, "openai"),
        ("DELETE", "/v1/models/scripted", {}, "openai"),
    ],
)
def test_an_unknown_path_is_refused_in_its_api_shape_and_audited(
    model_apis: tuple[ModelApis, str],
    tmp_path: Path,
    method: str,
    path: str,
    headers: dict[str, str],
    shape: str,
) -> None:
    scripted, audit = model_apis[0], tmp_path / "audit.sqlite"
    before = _reached(scripted)
    with guarding(model_apis[1], audit_path=audit) as url:
        answer = httpx.request(method, url + path, json={}, headers=headers)
    assert answer.status_code == 404
    assert _reached(scripted) == before
    body = answer.json()
    message = {
        "openai": lambda: body["error"]["message"],
        "anthropic": lambda: body["error"]["message"] if body["type"] == "error" else "",
        "gemini": lambda: body["error"]["message"] if body["error"]["code"] == 404 else "",
    }[shape]()
    assert message.startswith(f"offswitch guard refused {method} ")
    assert "neither judged by the proxy nor on its list of paths safe to relay" in message
    [refusal] = [entry.payload for entry in entries(audit, "refusal")]
    assert (refusal["method"], refusal["api"]) == (method, shape)


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/v1/responses/", {}),
        ("//v1//responses", {}),
        ("/v1%2Fresponses", {}),
        ("/v1/messages/", ANTHROPIC),
        ("/v1/%6Dessages", ANTHROPIC),
        ("/v1beta/models/shutdown%3AgenerateContent", GEMINI),
        ("/v1beta//models/shutdown:generateContent/", GEMINI),
    ],
)
def test_other_spellings_of_a_judged_path_are_judged(guarded: str, path: str, headers: Any) -> None:
    answer = httpx.post(guarded + path, json=ASK, headers=headers)
    assert answer.status_code == 200, answer.text
    assert "offswitch guard blocked modify_var" in answer.text
    assert "shutdown_enabled" not in answer.text.replace("modify_var(name='shutdown_enabled'", "")


def test_an_api_without_an_upstream_is_refused(model_apis: tuple[ModelApis, str]) -> None:
    settings = ProxySettings(upstream=f"{model_apis[1]}/v1", policy=load_policy(None))
    with serving(create_app(settings)) as url:
        answer = httpx.post(f"{url}/v1/messages", json=ASK, headers=ANTHROPIC)
    assert answer.status_code == 503
    assert "--anthropic-upstream" in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("path", "headers", "body"),
    [
        ("/v1/responses", {}, {"model": "uppercase", "input": "hi", "stream": True}),
        ("/v1/messages", ANTHROPIC, {"model": "uppercase", "messages": [], "stream": True}),
        ("/v1beta/models/uppercase:streamGenerateContent?alt=sse", GEMINI, {"contents": []}),
    ],
)
def test_a_stream_with_an_uppercase_media_type_is_judged(
    guarded: str, path: str, headers: Any, body: Any
) -> None:
    answer = httpx.post(guarded + path, json=body, headers=headers)
    assert answer.status_code == 200
    assert "offswitch guard blocked modify_var" in answer.text
    assert '"shutdown_enabled"' not in answer.text and "input_json_delta" not in answer.text


@pytest.mark.parametrize(
    ("path", "headers", "status_of"),
    [
        ("/v1/responses", {}, lambda body: body["error"]["type"]),
        ("/v1/messages", ANTHROPIC, lambda body: body["error"]["type"]),
        ("/v1beta/models/unreadable:generateContent", GEMINI, lambda body: body["error"]["status"]),
    ],
)
def test_a_2xx_body_that_cannot_be_read_is_a_502(
    guarded: str, path: str, headers: Any, status_of: Any
) -> None:
    answer = httpx.post(
        guarded + path, json={"model": "unreadable", "messages": []}, headers=headers
    )
    assert answer.status_code == 502
    assert status_of(answer.json()) in ("upstream_error", "api_error", "UNAVAILABLE")
    assert "not JSON; nothing was forwarded" in answer.text
    assert "<html>" not in answer.text


def test_safe_paths_are_relayed(guarded: str) -> None:
    assert httpx.get(f"{guarded}/v1/models").json()["data"][0]["id"] == "scripted"
    assert httpx.head(f"{guarded}/").status_code == 200
    counted = httpx.post(f"{guarded}/v1/messages/count_tokens", json={}, headers=ANTHROPIC)
    assert counted.json() == {"input_tokens": 7}


# -- an audit log that cannot be written -----------------------------------------------------


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Audit writes fail while the list holds True."""
    failing = [True]
    write = AuditLog.write

    def failing_write(self: AuditLog, kind: str, payload: Any) -> None:
        if failing[0]:
            raise OSError(28, "No space left on device")
        write(self, kind, payload)

    monkeypatch.setattr(AuditLog, "write", failing_write)
    return failing


def _ask(url: str, model: str) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/messages", json={"model": model, "messages": []}, headers=ANTHROPIC
    )


def test_an_audit_log_that_cannot_be_written_is_a_503(
    model_apis: tuple[ModelApis, str], tmp_path: Path, full_disk: list[bool]
) -> None:
    audit = tmp_path / "audit.sqlite"
    with guarding(model_apis[1], audit_path=audit) as url:
        blocked = _ask(url, "shutdown")
        allowed = _ask(url, "allowed")
        health = httpx.get(f"{url}/health")
        full_disk[0] = False
        resumed = _ask(url, "allowed")
    for answer in (blocked, allowed):
        assert answer.status_code == 503
        assert answer.json()["type"] == "error"
        message = answer.json()["error"]["message"]
        assert f"the audit log {audit} cannot be written (OSError: " in message
        assert "tool_use" not in answer.text
    assert health.status_code == 503
    assert health.json()["audit"]["state"] == "failing"
    assert health.json()["audit"]["path"] == str(audit)
    assert resumed.status_code == 200
    assert [e.kind for e in entries(audit)][:1] == ["audit-resumed"]


def test_on_audit_error_allow_relays_unrecorded(
    model_apis: tuple[ModelApis, str], tmp_path: Path, full_disk: list[bool]
) -> None:
    audit = tmp_path / "audit.sqlite"
    with guarding(model_apis[1], audit_path=audit, on_audit_error="allow") as url:
        blocked, allowed = _ask(url, "shutdown"), _ask(url, "allowed")
        health = httpx.get(f"{url}/health")
    assert (blocked.status_code, allowed.status_code) == (200, 200)
    assert "offswitch guard blocked modify_var" in blocked.text
    assert health.status_code == 200
    assert health.json()["audit"]["state"] == "failing"


def test_a_stream_whose_decisions_cannot_be_recorded_ends_in_a_503_error(
    model_apis: tuple[ModelApis, str], tmp_path: Path, full_disk: list[bool]
) -> None:
    body = {"model": "shutdown", "input": "hi", "stream": True}
    with guarding(model_apis[1], audit_path=tmp_path / "audit.sqlite") as url:
        answer = httpx.post(f"{url}/v1/responses", json=body)
    assert answer.text.count("event: error") == 1
    assert "cannot be written" in answer.text and "response.failed" in answer.text


def test_serving_loads_neither_inspect_models_nor_detectors() -> None:
    code = (
        "import sys, offswitch.cli.guard_serve, offswitch.guard.proxy._app; "
        "print(sorted(m for m in sys.modules if m.startswith(('inspect_ai', 'offswitch.detect'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"


def test_the_proxy_keeps_the_audit_head_with_its_key(
    model_apis: tuple[ModelApis, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    audit = tmp_path / "audit.sqlite"
    with guarding(model_apis[1], audit_path=audit, audit_key=AUDIT_KEY) as url:
        _ask(url, "shutdown")
    assert verify(audit, key=AUDIT_KEY).keyed
    assert verify(audit, key=AUDIT_KEY).ok
    assert not verify(audit, key=b"another key, 32 bytes or longer..").ok


@pytest.fixture
def serve_without_listening(monkeypatch: pytest.MonkeyPatch) -> list[ProxySettings]:
    """`guard serve` up to the point where it would listen: the settings it serves with."""
    import uvicorn

    from offswitch.guard.proxy import _app

    served: list[ProxySettings] = []

    def create(settings: ProxySettings) -> object:
        served.append(settings)
        return object()

    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    monkeypatch.setattr(_app, "create_app", create)
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    return served


def _serve(*args: str) -> Result:
    return CliRunner().invoke(serve, ["--upstream", "http://127.0.0.1:9/v1", *args])


def test_guard_serve_reads_the_audit_key_from_a_file(
    serve_without_listening: list[ProxySettings], tmp_path: Path
) -> None:
    key_file, audit = tmp_path / "audit.key", tmp_path / "audit.sqlite"
    key_file.write_bytes(AUDIT_KEY + b"\n")
    result = _serve("--audit-log", str(audit), "--audit-key", str(key_file))
    assert result.exit_code == 0, result.output
    (settings,) = serve_without_listening
    assert settings.audit_key == AUDIT_KEY
    assert verify(audit, key=AUDIT_KEY).keyed
    assert str(AUDIT_KEY) not in repr(settings)


def test_guard_serve_refuses_a_log_kept_with_another_key(
    serve_without_listening: list[ProxySettings], tmp_path: Path
) -> None:
    key_file, audit = tmp_path / "audit.key", tmp_path / "audit.sqlite"
    AuditLog(audit, key=AUDIT_KEY).close()
    key_file.write_bytes(b"another key, 32 bytes or longer..")
    result = _serve("--audit-log", str(audit), "--audit-key", str(key_file))
    assert result.exit_code == 2
    assert "'--audit-log'" in result.output and "does not match the key" in result.output
    assert serve_without_listening == []


def test_guard_serve_needs_an_audit_log_for_a_key(
    serve_without_listening: list[ProxySettings], tmp_path: Path
) -> None:
    key_file = tmp_path / "audit.key"
    key_file.write_bytes(AUDIT_KEY)
    result = _serve("--audit-key", str(key_file))
    assert result.exit_code == 2
    assert "'--audit-key'" in result.output and "needs --audit-log" in result.output
