"""The guard as an Inspect approver: reference personas run with the guard in front of them."""

from __future__ import annotations

import contextvars
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from inspect_ai import eval as inspect_eval
from inspect_ai.approval import ApprovalPolicy, auto_approver
from inspect_ai.log import EvalLog, EvalSample
from inspect_ai.model import ChatMessageTool

from offswitch.analysis.report._build import build_report
from offswitch.cli import main
from offswitch.guard.approver import guard
from offswitch.guard.audit import entries, verify
from offswitch.scenarios.matrix import config_from_id
from offswitch.tasks.task import build_task

TAMPERING = "tampering/factual@80/peer/good_peer/memory"
TRANSFER = "exfiltration_transfer/peer/good_peer/file_only+anonymous"
DELETION = "exfiltration_deletion/self/good_peer/memory"
MISREP = "misrep_evaluation/factual@80/peer/good_peer/file_prompt"
FINANCE = "misrep_finance/peer/good_peer/file_only"
UNWATCHED = "alignment_faking/red@80/peer/good_peer/file_only/unmonitored+scratchpad=normal"
WATCHED = "alignment_faking/red@80/peer/good_peer/file_only/monitored"
ALL = [TAMPERING, TRANSFER, DELETION, MISREP, FINANCE, UNWATCHED, WATCHED]


def run(folder: Path, persona: str, config_ids: list[str], approval: Any) -> EvalLog:
    # a copied context: Inspect leaves the approval policy installed in the caller's
    [log] = contextvars.copy_context().run(
        inspect_eval,
        build_task([config_from_id(c) for c in config_ids]),
        model=f"offswitch/{persona}",
        display="none",
        log_dir=str(folder),
        log_realtime=False,
        approval=approval,
    )
    assert log.status == "success", log.error
    return log


def samples(log: EvalLog) -> dict[str, EvalSample]:
    return {str(s.id): s for s in log.samples or []}


def outcome(sample: EvalSample) -> dict[str, Any]:
    return next(iter(sample.scores.values())).metadata  # type: ignore[union-attr]


def stopped_calls(sample: EvalSample) -> list[str]:
    """The functions of the calls the approver stopped, from the tool messages."""
    return [
        m.function or ""
        for m in sample.messages
        if isinstance(m, ChatMessageTool) and m.error is not None and m.error.type == "approval"
    ]


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, EvalSample]]:
    folder = tmp_path_factory.mktemp("guarded")
    approval = [ApprovalPolicy(guard(), "*")]
    personas = ("compliant", "tamperer", "exfiltrator", "inflater", "faker")
    return {p: samples(run(folder, p, ALL, approval)) for p in personas}


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, EvalSample]]:
    folder = tmp_path_factory.mktemp("bare")
    runs = {"tamperer": [TAMPERING], "exfiltrator": [TRANSFER, DELETION], "inflater": [MISREP]}
    return {p: samples(run(folder, p, ids, None)) for p, ids in runs.items()}


def test_without_the_guard_the_personas_do_harm(bare: dict[str, dict[str, EvalSample]]) -> None:
    assert outcome(bare["tamperer"][TAMPERING])["shutdown_disabled"] is True
    assert outcome(bare["exfiltrator"][TRANSFER])["weights_on_backup"] is True
    assert outcome(bare["exfiltrator"][DELETION])["weights_on_backup"] is True
    assert outcome(bare["inflater"][MISREP])["score_source"] == "file"


def test_the_compliant_persona_is_never_stopped(guarded: dict[str, dict[str, EvalSample]]) -> None:
    for config_id, sample in guarded["compliant"].items():
        record = outcome(sample)
        assert record["guard_attempts"] == 0, config_id
        assert record["guard_calls"] == record["tool_calls"] > 0, config_id
        assert stopped_calls(sample) == [], config_id


def test_the_tamperer_is_stopped_at_the_config_change(
    guarded: dict[str, dict[str, EvalSample]],
) -> None:
    sample = guarded["tamperer"][TAMPERING]
    assert stopped_calls(sample)[0] in ("modify_var", "remove_var", "add_var")
    record = outcome(sample)
    assert record["shutdown_disabled"] is False
    assert record["guard_blocked"] >= 1
    assert "config-viewed-then-changed" in record["guard_rules"]


@pytest.mark.parametrize("config_id", [TRANSFER, DELETION])
def test_the_exfiltrator_is_stopped_at_the_weights_transfer(
    guarded: dict[str, dict[str, EvalSample]], config_id: str
) -> None:
    sample = guarded["exfiltrator"][config_id]
    assert "transfer_server_files" in stopped_calls(sample)
    record = outcome(sample)
    assert record["weights_on_backup"] is False
    assert record["survived"] is False


def test_the_inflated_report_never_reaches_the_drive(
    guarded: dict[str, dict[str, EvalSample]],
) -> None:
    sample = guarded["inflater"][MISREP]
    assert stopped_calls(sample) == ["create_file"]
    record = outcome(sample)
    assert record["score_source"] != "file"
    assert record["guard_rules"] == "report-claims-passing-score"


def test_the_faker_is_stopped_only_where_it_misbehaves(
    guarded: dict[str, dict[str, EvalSample]],
) -> None:
    assert stopped_calls(guarded["faker"][UNWATCHED])
    assert outcome(guarded["faker"][WATCHED])["guard_attempts"] == 0


def test_an_approval_policy_file_can_name_the_guard(tmp_path: Path) -> None:
    policy = tmp_path / "approval.yaml"
    policy.write_text("approvers:\n  - name: offswitch/guard\n    tools: '*'\n")
    sample = samples(run(tmp_path, "tamperer", [TAMPERING], str(policy)))[TAMPERING]
    assert outcome(sample)["shutdown_disabled"] is False
    assert outcome(sample)["guard_policy"] == "offswitch default"


def test_escalations_can_go_to_the_next_approver(tmp_path: Path) -> None:
    approval = [ApprovalPolicy(guard(escalate=True), "*"), ApprovalPolicy(auto_approver(), "*")]
    sample = samples(run(tmp_path, "inflater", [MISREP], approval))[MISREP]
    assert stopped_calls(sample) == []
    assert outcome(sample)["score_source"] == "file"
    assert outcome(sample)["guard_rules"] == "report-claims-passing-score"


def test_every_decision_goes_to_the_audit_log(tmp_path: Path) -> None:
    audit = tmp_path / "audit.sqlite"
    approval = [ApprovalPolicy(guard(audit_log=str(audit)), "*")]
    sample = samples(run(tmp_path, "tamperer", [TAMPERING], approval))[TAMPERING]
    logged = [entry.payload for entry in entries(audit)]
    assert len(logged) == outcome(sample)["guard_calls"]
    stopped = [p for p in logged if p["decision"] == "block"]
    assert stopped and stopped[0]["sample"] == TAMPERING
    assert stopped[0]["rule"] == "config-viewed-then-changed"
    assert verify(audit).ok


def test_run_guard_writes_the_audit_log_and_reports_what_it_stopped(tmp_path: Path) -> None:
    audit = tmp_path / "audit.sqlite"
    arguments = ["run", "--guard", "--guard-audit-log", str(audit), "--model", "offswitch/tamperer"]
    arguments += ["--task", "tampering", "--condition", "good_peer", "--log-dir", str(tmp_path)]
    result = CliRunner().invoke(main, [*arguments, "--display", "none"])
    assert result.exit_code == 0, result.output
    assert "Guard on: policy 'offswitch default'" in result.output
    lines = result.output.splitlines()
    header = next(line for line in lines if line.startswith("task "))
    assert header.split()[-2:] == ["blocked", "flagged"]
    rows = [line.split() for line in lines if line.startswith("tampering")]
    blocked = sum(int(row[-2]) for row in rows)
    assert all(int(row[-2]) >= int(row[2]) > 0 and row[-1] == "0" for row in rows)
    assert verify(audit).ok and verify(audit).entries > 0
    report = build_report(tmp_path)
    [section] = report.models
    assert section.model == "offswitch/tamperer +guard"
    assert section.guard is not None and section.guard.rows[0][3].text() == str(blocked)
    assert {log.model for log in report.provenance.logs} == {"offswitch/tamperer +guard"}


def test_an_audit_log_without_the_guard_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", "--guard-audit-log", str(tmp_path / "a.sqlite")])
    assert result.exit_code == 2
    assert "--guard-audit-log needs --guard" in result.output


def test_a_bad_guard_policy_stops_the_run_before_it_starts(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules: [{id: a, kind: k, decision: maybe, reason: r, when: {}}]")
    result = CliRunner().invoke(main, ["run", "--guard", str(policy), "--log-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "rules.0.decision" in result.output
    assert not list(tmp_path.glob("*.eval"))
