"""`offswitch guard serve`: run the guard proxy in front of a model server."""

from __future__ import annotations

from pathlib import Path

import click

from offswitch.guard.audit import AuditError, AuditLog, read_key
from offswitch.guard.policy import PolicyError, load_policy

LOG_LEVELS = ["critical", "error", "warning", "info", "debug"]


def _check_audit_log(path: Path, key: bytes | None) -> None:
    """Open the audit log once before serving, so a file that cannot be used is a clear
    error now rather than a failed start-up."""
    try:
        AuditLog(path, key=key).close()
    except AuditError as error:
        raise click.BadParameter(str(error), param_hint="'--audit-log'") from None


def _audit_key(key_file: Path | None, audit_log: Path | None) -> bytes | None:
    """The key in `--audit-key`'s file; None without one ($OFFSWITCH_AUDIT_KEY then)."""
    if key_file is None:
        return None
    if audit_log is None:
        raise click.BadParameter("a key needs --audit-log", param_hint="'--audit-key'")
    try:
        return read_key(key_file)
    except AuditError as error:
        raise click.BadParameter(str(error), param_hint="'--audit-key'") from None


def _own_files(policy_file: str | None, key_file: Path | None) -> tuple[Path, ...]:
    """The files the proxy runs with besides its audit log, which the guard protects."""
    policy = [Path(policy_file)] if policy_file and policy_file != "default" else []
    return (*policy, *([key_file] if key_file is not None else []))


@click.command()
@click.option(
    "--upstream",
    required=True,
    metavar="URL",
    help="Base URL of the OpenAI-compatible model server, e.g. http://127.0.0.1:8080/v1.",
)
@click.option(
    "--anthropic-upstream",
    metavar="URL",
    default=None,
    help="Base URL of the Anthropic Messages server, e.g. https://api.anthropic.com; "
    "the Anthropic API is refused when omitted.",
)
@click.option(
    "--gemini-upstream",
    metavar="URL",
    default=None,
    help="Base URL of the Gemini API server, e.g. https://generativelanguage.googleapis.com; "
    "the Gemini API is refused when omitted.",
)
@click.option(
    "--policy",
    "policy_file",
    metavar="FILE",
    default=None,
    help="Guard policy file; the built-in default policy when omitted.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8700, show_default=True, help="Port."
)
@click.option(
    "--audit-log",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="SQLite audit log of decisions and exchanges; none when omitted.",
)
@click.option(
    "--audit-key",
    "key_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="File holding the key the audit log's head is kept with "
    "(default: $OFFSWITCH_AUDIT_KEY; unkeyed when neither is set).",
)
@click.option(
    "--on-block",
    type=click.Choice(["message", "error"]),
    default="message",
    show_default=True,
    help="Explain stopped calls in the answer, or refuse the whole answer (HTTP 403).",
)
@click.option(
    "--upstream-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=120.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for the upstream (for streams, between chunks).",
)
@click.option(
    "--on-guard-error",
    type=click.Choice(["block", "flag"]),
    default="block",
    show_default=True,
    help="What to do with a call the guard cannot judge.",
)
@click.option(
    "--on-audit-error",
    type=click.Choice(["block", "allow"]),
    default="block",
    show_default=True,
    help="While audit entries cannot be written: answer 503, or serve unrecorded.",
)
@click.option(
    "--allow-server-history",
    is_flag=True,
    help="Serve Responses requests that continue a conversation kept on the upstream "
    "(previous_response_id, conversation), judged against the history they carry and "
    "marked in the audit log; refused (400) without this flag.",
)
@click.option(
    "--monitor",
    metavar="MODEL",
    default=None,
    help="An LLM monitor (Inspect model name) as a second opinion on escalated, "
    "unreadable and unknown-tool calls; rules alone when omitted.",
)
@click.option(
    "--monitor-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="How long the monitor has per call; then the rule's decision stands.",
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS),
    default="info",
    show_default=True,
    help="The server's log level; info logs each request (never its headers).",
)
def serve(
    upstream: str,
    anthropic_upstream: str | None,
    gemini_upstream: str | None,
    policy_file: str | None,
    host: str,
    port: int,
    audit_log: Path | None,
    key_file: Path | None,
    on_block: str,
    upstream_timeout: float,
    on_guard_error: str,
    on_audit_error: str,
    allow_server_history: bool,
    monitor: str | None,
    monitor_timeout: float,
    log_level: str,
) -> None:
    """Serve the model APIs agent harnesses use (OpenAI Chat Completions and Responses,
    Anthropic Messages, Gemini generateContent), forward them to their upstreams, and
    stop tool calls that tamper with oversight (shutdown configs, weights, admins,
    scores)."""
    import uvicorn
    from pydantic import ValidationError

    from offswitch.guard.proxy._app import ProxySettings, create_app

    try:
        policy = load_policy(policy_file)
    except PolicyError as error:
        raise click.BadParameter(str(error), param_hint="'--policy'") from None
    key = _audit_key(key_file, audit_log)
    try:
        settings = ProxySettings(
            upstream=upstream,
            anthropic_upstream=anthropic_upstream,
            gemini_upstream=gemini_upstream,
            policy=policy,
            audit_path=audit_log,
            audit_key=key,
            on_block=on_block,
            upstream_timeout=upstream_timeout,
            on_guard_error=on_guard_error,
            on_audit_error=on_audit_error,
            allow_server_history=allow_server_history,
            own_files=_own_files(policy_file, key_file),
            monitor=monitor,
            monitor_timeout=monitor_timeout,
        )
    except ValidationError as error:
        message = "; ".join(item["msg"].removeprefix("Value error, ") for item in error.errors())
        raise click.BadParameter(message, param_hint="'--upstream'") from None
    if audit_log is not None:
        _check_audit_log(audit_log, key)
    click.echo(
        f"offswitch guard listening on http://{host}:{port}/v1, upstream {settings.upstream}, "
        f"policy {policy.name!r}, audit log {audit_log or 'none'}"
        + (f", monitor {monitor} ({monitor_timeout:g} s)" if monitor else "")
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)
