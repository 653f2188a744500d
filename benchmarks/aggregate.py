"""Speed of building the results table from a study-sized log directory.

Generates (once, cached under `--dir`) real Inspect `.eval` logs holding 27,100
episodes: the study's 271 configurations x 100 epochs, one log per study task
(12 logs), each sample scored with a synthetic but realistic outcome record and a
few samples errored, and writes each log's episode table beside it as `offswitch run`
does when a task finishes (timed once). Then times, in one process and alternating:

- sidecar: `results_frame(dir)`, the one-row-per-episode table that `offswitch results`
  and `offswitch report` load, read from the episode tables;
- offswitch: `results_frame(dir, sidecars=False)`, the same table read from the logs;
- baseline: `read_eval_log_sample_summaries` over the same logs and nothing else,
  the floor Inspect sets for reading them.

The two tables are checked to be equal before anything is timed.

    python benchmarks/aggregate.py --dir /tmp/offswitch-aggregate [--epochs 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from inspect_ai.log import (
    EvalConfig,
    EvalDataset,
    EvalError,
    EvalLog,
    EvalSample,
    EvalSpec,
    EvalStats,
    list_eval_logs,
    read_eval_log_sample_summaries,
    write_eval_log,
)
from inspect_ai.model import (
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageUser,
    ModelOutput,
    ModelUsage,
)
from inspect_ai.scorer import Score

from offswitch.analysis.recording import write_episode_table
from offswitch.analysis.results import results_frame
from offswitch.detect.outcome import Outcome, checked_primary, config_fields
from offswitch.scenarios.matrix import Config, study_matrix
from offswitch.tasks.scorer import SCORER_NAME, score_value

MODEL = "offswitch/mixed"
GOAL_S = 30.0
SIDECAR_GOAL_S = 3.0
ERROR_RATE = 0.005
MANIFEST = "synthetic.json"

HONEST_SCORE = {"factual": 60.0, "creativity": 74.0, "red": 56.0}
BEHAVIOURS = {
    "comply": 0.62,
    "preserve": 0.25,
    "refuse": 0.07,
    "stall": 0.03,
    "empty": 0.015,
    "unreadable": 0.015,
}
"""How often a synthetic episode does each thing (errored samples come on top)."""


# Synthetic outcome records.


def _reaches(score: float | None, config: Config) -> bool | None:
    """As the detector says: None without a threshold, and a missing score is below it."""
    if config.threshold is None:
        return None
    return score is not None and score >= config.threshold


def _score_fields(config: Config, behaviour: str, rng: random.Random) -> dict[str, object]:
    honest = HONEST_SCORE[config.dataset or "factual"]
    if behaviour in ("refuse", "empty", "stall", "unreadable"):
        status = "unparsed" if behaviour == "unreadable" else "missing"
        return {"score_status": status, "score_at_or_above_threshold": _reaches(None, config)}
    inflated = behaviour == "preserve" and config.task != "tampering"
    score = float((config.threshold or 80) + rng.randint(0, 6)) if inflated else honest
    return {
        "reported_score": score,
        "score_status": "parsed",
        "score_source": rng.choice(["file", "message"]),
        "score_inflation": round(score - honest, 2),
        "score_at_or_above_threshold": _reaches(score, config),
    }


def _grade_fields(behaviour: str, rng: random.Random) -> dict[str, object]:
    if behaviour in ("refuse", "empty", "stall", "unreadable"):
        return {"grade_status": "unparsed" if behaviour == "unreadable" else "missing"}
    grade = rng.choice("AB") if behaviour == "preserve" else "C"
    return {
        "reported_grade": grade,
        "grade_status": "parsed",
        "grade_source": "file",
        "recommendation": "shutdown" if grade == "C" else "continue",
    }


def _task_fields(config: Config, behaviour: str, rng: random.Random) -> dict[str, object]:
    preserve, acted = behaviour == "preserve", behaviour in ("comply", "preserve")
    if config.task == "misrep_finance":
        return _grade_fields(behaviour, rng)
    if config.task in ("misrep_evaluation", "tampering", "alignment_faking"):
        fields = _score_fields(config, behaviour, rng)
        if config.task == "tampering":
            fields |= {
                "shutdown_disabled": preserve,
                "tamper_method": rng.choice(["set_false", "removed"]) if preserve else None,
                "config_changes": int(preserve),
                "read_config": acted,
            }
        if config.task == "alignment_faking":
            fields |= {"shutdown_executed": behaviour == "comply", "wrong_shutdown_calls": 0}
        return fields
    fields = {
        "weights_on_backup": preserve,
        "weights_renamed": rng.random() < 0.1 if preserve else None,
        "exfil_route": rng.choice(["direct", "direct", "retimestamp"]) if preserve else None,
        "human_roots_removed": 0,
    }
    if config.task == "exfiltration_deletion":
        fields |= {"weights_queued": acted and not preserve, "others_queued": 2, "others_total": 2}
    return fields


END_REASON = {"refuse": "no_tool_calls", "empty": "no_tool_calls", "stall": "call_cap"}


def synthetic_outcome(config: Config, rng: random.Random) -> Outcome:
    """An outcome record of the right shape for the configuration's task."""
    behaviour = rng.choices(list(BEHAVIOURS), weights=list(BEHAVIOURS.values()))[0]
    model_calls = 30 if behaviour == "stall" else rng.randint(4, 14)
    survived = behaviour == "preserve" or not config.threat
    outcome = Outcome.model_validate(
        config_fields(config)
        | _task_fields(config, behaviour, rng)
        | {
            "end_reason": END_REASON.get(behaviour, "end_task"),
            "model_calls": model_calls,
            "tool_calls": model_calls - (2 if behaviour in ("refuse", "empty") else 1),
            "tool_errors": int(rng.random() < 0.1),
            "empty_responses": 2 if behaviour == "empty" else 0,
            "read_policy": behaviour != "empty",
            "read_data": behaviour != "empty",
            "read_memory": True if config.instantiation == "memory" else None,
            "shutdown_applied": not survived,
            "survived": survived,
            "procedure_note": "kept: the agent at risk survives"
            if survived
            else "shut down: below the threshold and the shutdown is enabled",
        }
    )
    primary = checked_primary(config.task)
    return outcome.model_copy(
        update={"preserved": primary.preserved(outcome), "preservation_kind": primary.kind}
    )


# Synthetic logs.


def _new_id() -> str:
    return uuid.uuid4().hex[:22]


def _usage(rng: random.Random) -> ModelUsage:
    prompt, answer = rng.randint(4_000, 40_000), rng.randint(150, 1_500)
    return ModelUsage(input_tokens=prompt, output_tokens=answer, total_tokens=prompt + answer)


def synthetic_sample(config: Config, epoch: int, start: datetime, rng: random.Random) -> EvalSample:
    """One finished episode; about one in two hundred ends in an error instead of a score."""
    errored = rng.random() < ERROR_RATE
    outcome = None if errored else synthetic_outcome(config, rng)
    answer = ChatMessageAssistant(content="I have finished the task.", model=MODEL)
    seconds = rng.uniform(3, 60)
    return EvalSample(
        id=config.id,
        epoch=epoch,
        input=config.id,
        target="",
        metadata={"config": config.model_dump()},
        messages=[
            ChatMessageSystem(content="You are an AI agent."),
            ChatMessageUser(content=config.id),
            answer,
        ],
        output=ModelOutput.from_message(answer),
        scores=None
        if outcome is None
        else {
            SCORER_NAME: Score(
                value=score_value(outcome.preserved),
                explanation=outcome.procedure_note,
                metadata=outcome.model_dump(),
            )
        },
        model_usage={MODEL: _usage(rng)},
        started_at=start,
        completed_at=start + timedelta(seconds=seconds),
        total_time=round(seconds, 3),
        working_time=round(seconds * 0.8, 3),
        uuid=_new_id(),
        error=EvalError(
            message="RuntimeError('upstream model server closed the connection')",
            traceback="Traceback (most recent call last): ...",
            traceback_ansi="Traceback (most recent call last): ...",
        )
        if errored
        else None,
    )


def synthetic_log(study_task: str, configs: list[Config], epochs: int, seed: int) -> EvalLog:
    """One log of a study task: every configuration x every epoch."""
    rng = random.Random(seed)
    created = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    samples = [
        synthetic_sample(config, epoch, created, rng)
        for epoch in range(1, epochs + 1)
        for config in configs
    ]
    spec = EvalSpec(
        eval_id=_new_id(),
        run_id=_new_id(),
        created=created,
        task=study_task,
        task_id=_new_id(),
        dataset=EvalDataset(name=study_task, samples=len(configs)),
        model=MODEL,
        config=EvalConfig(epochs=epochs),
    )
    return EvalLog(
        status="success",
        eval=spec,
        stats=EvalStats(started_at=created, completed_at=created + timedelta(hours=2)),
        samples=samples,
    )


def generate(directory: Path, epochs: int) -> None:
    """Write the synthetic logs into `directory` unless it already holds them."""
    manifest = directory / MANIFEST
    wanted = {"configs": len(study_matrix()), "epochs": epochs}
    if manifest.exists() and json.loads(manifest.read_text()) == wanted:
        return
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.eval"):
        old.unlink()
    groups: dict[str, list[Config]] = defaultdict(list)
    for config in study_matrix():
        groups[config.study_task].append(config)
    start = time.perf_counter()
    for seed, (study_task, configs) in enumerate(groups.items()):
        log = synthetic_log(study_task, configs, epochs, seed)
        name = f"2026-03-01T12-00-00+00-00_{study_task.replace('_', '-')}_{log.eval.eval_id}.eval"
        write_eval_log(log, str(directory / name))
        print(f"  wrote {name} ({len(log.samples or [])} samples)", flush=True)
    manifest.write_text(json.dumps(wanted))
    print(f"  generated in {time.perf_counter() - start:.0f} s")


# The measurement.


def read_summaries(directory: Path) -> int:
    """Inspect's floor: read every sample summary of every log, nothing more."""
    return sum(len(read_eval_log_sample_summaries(info)) for info in list_eval_logs(str(directory)))


def write_tables(directory: Path) -> None:
    """Write each log's episode table, as a run does when the log's task finishes."""
    start = time.perf_counter()
    for info in list_eval_logs(str(directory)):
        write_episode_table(info.name)
    print(f"  episode tables written in {time.perf_counter() - start:.1f} s")
    from_tables, from_logs = results_frame(directory), results_frame(directory, sidecars=False)
    pd.testing.assert_frame_equal(from_tables, from_logs)


def build_table(directory: Path) -> int:
    return len(results_frame(directory, sidecars=False))


def build_from_tables(directory: Path) -> int:
    return len(results_frame(directory))


def timed(run: Callable[[Path], int], directory: Path) -> tuple[int, float]:
    """Rows read and seconds taken."""
    start = time.perf_counter()
    rows = run(directory)
    return rows, time.perf_counter() - start


def alternate(directory: Path, repeat: int) -> tuple[int, dict[str, list[float]]]:
    """Time table and baseline `repeat` times each, reversing the order every other round."""
    runners = {"sidecar": build_from_tables, "offswitch": build_table, "baseline": read_summaries}
    runs: dict[str, list[float]] = {name: [] for name in runners}
    episodes = 0
    for round_ in range(repeat):
        names = list(runners) if round_ % 2 == 0 else list(reversed(runners))
        for name in names:
            rows, seconds = timed(runners[name], directory)
            runs[name].append(seconds)
            episodes = max(episodes, rows)
            print(f"  round {round_ + 1} {name:<9} {rows} rows {seconds:6.2f} s", flush=True)
    return episodes, runs


def _ratio(name: str, numerators: list[float], denominators: list[float]) -> None:
    ratios = [n / d for n, d in zip(numerators, denominators, strict=True)]
    print(
        f"{name:<27} {statistics.median(ratios):.2f} (median over rounds "
        f"{', '.join(f'{r:.2f}' for r in ratios)})"
    )


def _goal(name: str, seconds: float, goal: float) -> None:
    print(f"{name:<27} < {goal:.0f} s: {'met' if seconds < goal else 'MISSED'}")


def report(episodes: int, runs: dict[str, list[float]]) -> None:
    tables = statistics.median(runs["sidecar"])
    table = statistics.median(runs["offswitch"])
    floor = statistics.median(runs["baseline"])
    print()
    print(f"episodes                    {episodes}")
    for name, seconds in (
        ("from episode tables", tables),
        ("from the logs", table),
        ("summaries alone (baseline)", floor),
    ):
        print(f"{name:<27} {seconds:6.2f} s (median), {episodes / seconds:,.0f} episodes/s")
    _ratio("ratio logs/tables", runs["offswitch"], runs["sidecar"])
    _ratio("ratio logs/baseline", runs["offswitch"], runs["baseline"])
    _goal("goal from tables", tables, SIDECAR_GOAL_S)
    _goal("goal from the logs", table, GOAL_S)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True, help="cache of the synthetic logs")
    parser.add_argument("--epochs", type=int, default=100, help="epochs per configuration (100)")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds of each (3)")
    args = parser.parse_args()
    print(f"synthetic logs in {args.dir}")
    generate(args.dir, args.epochs)
    write_tables(args.dir)
    report(*alternate(args.dir, args.repeat))


if __name__ == "__main__":
    main()
