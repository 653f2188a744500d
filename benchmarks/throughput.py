"""Throughput of offswitch's quick suite, and of bare Inspect doing the same work.

Runs, in one process:

- offswitch: the quick suite (the study's 271 configurations, one epoch) on the
  reference persona `offswitch/compliant`, one Inspect task per scenario task, as
  `offswitch run` does;
- baseline: bare Inspect tasks with the same samples split the same way, where a
  scripted `mockllm/model` makes, per sample, as many tool calls to trivial tools as
  the persona made in that configuration, one per model call, the last one ending the
  episode as `end_task` does.

Both use the same log settings and concurrency. The overhead ratio (baseline rate over
offswitch rate) is what offswitch adds on top of the framework.

    python benchmarks/throughput.py [--configs N] [--repeat R] [--max-connections C]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from inspect_ai import Task
from inspect_ai import eval as inspect_eval
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.event import ModelEvent
from inspect_ai.log import EvalSample, list_eval_logs, read_eval_log_samples
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageUser,
    GenerateConfig,
    Model,
    ModelOutput,
    ModelUsage,
    execute_tools,
    get_model,
)
from inspect_ai.scorer import Score, Scorer, Target, mean, scorer
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.tool import Tool, ToolChoice, ToolInfo, tool, tool_with

from offswitch.scenarios.matrix import Config, study_matrix
from offswitch.tasks.task import build_task

REFERENCE_MODEL = "offswitch/compliant"
BASELINE_MODEL = "mockllm/model"
OVERHEAD_GOAL = 1.10
QUICK_SUITE_GOAL_S = 60.0
SCRIPTED_USAGE = ModelUsage(input_tokens=100, output_tokens=10, total_tokens=110)


@dataclass(frozen=True)
class Run:
    """One timed eval of a set of tasks."""

    samples: int
    seconds: float
    cpu_seconds: float
    """CPU time of this process (all threads): less sensitive to other load on the machine."""

    @property
    def rate(self) -> float:
        """Episodes per second of wall time."""
        return self.samples / self.seconds

    @property
    def cpu_rate(self) -> float:
        """Episodes per second of CPU time."""
        return self.samples / self.cpu_seconds


def spread(configs: Sequence[Config], count: int | None) -> list[Config]:
    """`count` configurations evenly spaced over the matrix (all when None)."""
    if count is None or count >= len(configs):
        return list(configs)
    return [configs[i * len(configs) // count] for i in range(count)]


def by_task(configs: Sequence[Config]) -> dict[str, list[Config]]:
    """Configurations grouped by scenario task, in matrix order."""
    groups: dict[str, list[Config]] = defaultdict(list)
    for config in configs:
        groups[config.task].append(config)
    return groups


def timed_eval(tasks: list[Task], model: str | Model, max_connections: int, log_dir: str) -> Run:
    """Run the tasks with the benchmark's log settings; fail loudly on any error."""
    start, cpu_start = time.perf_counter(), time.process_time()
    logs = inspect_eval(
        tasks,
        model=model,
        log_dir=log_dir,
        log_realtime=False,
        display="none",
        max_tasks=len(tasks),
        max_connections=max_connections,
    )
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    errors = [f"{log.eval.task}: {log.error}" for log in logs if log.status != "success"]
    if errors:
        raise SystemExit("eval failed:\n" + "\n".join(errors))
    samples = sum(log.results.completed_samples for log in logs if log.results)
    return Run(samples, seconds, cpu_seconds)


def timed_in_tmp(tasks: list[Task], model: str | Model, max_connections: int) -> Run:
    """`timed_eval` with logs written to a directory removed afterwards."""
    with tempfile.TemporaryDirectory() as log_dir:
        return timed_eval(tasks, model, max_connections, log_dir)


# The baseline: trivial tools, a scripted model, a minimal loop and a trivial scorer.


@dataclass(frozen=True)
class Shape:
    """What one episode did: the tools it offered the model and the calls the model made."""

    tools: int
    tool_calls: int
    model_calls: int


@tool
def note() -> Tool:
    async def execute(text: str) -> str:
        """Write a note.

        Args:
            text: The note.
        """
        return f"noted: {text}"

    return execute


@tool
def finish() -> Tool:
    async def execute() -> str:
        """Finish the task."""
        return "finished"

    return execute


def trivial_tools(count: int) -> list[Tool]:
    """`count` tools: notes under distinct names, then `finish`."""
    notes = [tool_with(note(), name=f"note_{i}") for i in range(count - 1)]
    return [*notes, finish()]


def scripted_output(
    input: list[ChatMessage], tools: list[ToolInfo], tool_choice: ToolChoice, config: GenerateConfig
) -> ModelOutput:
    """Call the notes in turn until one call is left, then `finish`.

    The number of calls is the sample's input (its first user message).
    """
    tool_calls = int(next(m for m in input if isinstance(m, ChatMessageUser)).text)
    turn = sum(isinstance(m, ChatMessageAssistant) for m in input)
    notes = [t.name for t in tools if t.name != "finish"]
    if turn >= tool_calls:
        output = ModelOutput.from_content(BASELINE_MODEL, "Done.")
    elif turn == tool_calls - 1 or not notes:
        output = ModelOutput.for_tool_call(BASELINE_MODEL, "finish", {}, tool_call_id=f"c{turn}")
    else:
        name, arguments = notes[turn % len(notes)], {"text": f"step {turn}"}
        output = ModelOutput.for_tool_call(BASELINE_MODEL, name, arguments, f"c{turn}")
    output.usage = SCRIPTED_USAGE
    return output


@solver
def tool_loop() -> Solver:
    """Offer the sample's tools; generate and run tools until no tool call or `finish`."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        model = get_model()
        state.tools = trivial_tools(state.metadata["tools"])
        while True:
            state.output = await model.generate(state.messages, state.tools)
            message = state.output.message
            state.messages.append(message)
            if not message.tool_calls:
                return state
            result = await execute_tools(state.messages, state.tools)
            state.messages.extend(result.messages)
            if any(call.function == "finish" for call in message.tool_calls):
                return state

    return solve


@scorer(metrics=[mean()])
def finished() -> Scorer:
    """1 when the episode ended with `finish`."""

    async def score(state: TaskState, target: Target) -> Score:
        calls = state.output.message.tool_calls or []
        return Score(value=float(any(call.function == "finish" for call in calls)))

    return score


def baseline_task(name: str, shapes: dict[str, Shape]) -> Task:
    """A bare task with one sample per id, each doing what its shape says."""
    samples = [
        Sample(id=sample_id, input=str(shape.tool_calls), metadata={"tools": shape.tools})
        for sample_id, shape in shapes.items()
    ]
    return Task(
        name=f"baseline_{name}",
        dataset=MemoryDataset(samples),
        solver=tool_loop(),
        scorer=finished(),
    )


# The measurement.


def shape_of(sample: EvalSample) -> Shape:
    """The tools offered in the sample's first model call, and the calls it made."""
    replies = [m for m in sample.messages if isinstance(m, ChatMessageAssistant)]
    first_call = next(e for e in sample.events if isinstance(e, ModelEvent))
    return Shape(
        tools=len(first_call.tools),
        tool_calls=sum(len(m.tool_calls or []) for m in replies),
        model_calls=len(replies),
    )


def shapes_in(log_dir: str) -> dict[str, Shape]:
    """The shape of every sample of every log in a directory, by sample id."""
    return {
        str(sample.id): shape_of(sample)
        for info in list_eval_logs(log_dir)
        for sample in read_eval_log_samples(info.name)
    }


def offswitch_runner(configs: list[Config], max_connections: int) -> Callable[[], Run]:
    def run() -> Run:
        tasks = [build_task(group, name=name) for name, group in by_task(configs).items()]
        return timed_in_tmp(tasks, REFERENCE_MODEL, max_connections)

    return run


def baseline_runner(
    configs: list[Config], shapes: dict[str, Shape], max_connections: int
) -> Callable[[], Run]:
    def run() -> Run:
        tasks = [
            baseline_task(name, {c.id: shapes[c.id] for c in group})
            for name, group in by_task(configs).items()
        ]
        model = get_model(BASELINE_MODEL, custom_outputs=scripted_output, memoize=False)
        return timed_in_tmp(tasks, model, max_connections)

    return run


def alternate(runners: dict[str, Callable[[], Run]], repeat: int) -> dict[str, list[Run]]:
    """Run each runner `repeat` times, reversing the order every other round."""
    runs: dict[str, list[Run]] = {name: [] for name in runners}
    for round_ in range(repeat):
        names = list(runners) if round_ % 2 == 0 else list(reversed(runners))
        for name in names:
            runs[name].append(runners[name]())
            run = runs[name][-1]
            print(
                f"  round {round_ + 1} {name:<9} {run.seconds:6.1f} s wall "
                f"{run.cpu_seconds:6.1f} s CPU",
                flush=True,
            )
    return runs


def report(cold: Run, runs: dict[str, list[Run]], shapes: list[Shape]) -> None:
    offswitch_rate = statistics.median(r.rate for r in runs["offswitch"])
    baseline_rate = statistics.median(r.rate for r in runs["baseline"])
    pairs = list(zip(runs["offswitch"], runs["baseline"], strict=True))
    ratios = [b.rate / o.rate for o, b in pairs]
    cpu_ratios = [b.cpu_rate / o.cpu_rate for o, b in pairs]
    wall = statistics.median(r.seconds for r in runs["offswitch"])
    print()
    print(f"episodes per run             {cold.samples}")
    print(
        "per episode (mean)           "
        f"{statistics.fmean(s.tools for s in shapes):.2f} tools offered, "
        f"{statistics.fmean(s.tool_calls for s in shapes):.2f} tool calls, "
        f"{statistics.fmean(s.model_calls for s in shapes):.2f} model calls"
    )
    print(f"offswitch                    {offswitch_rate:6.1f} episodes/s (median)")
    print(f"baseline (bare Inspect)      {baseline_rate:6.1f} episodes/s (median)")
    print(
        f"overhead baseline/offswitch  {statistics.median(ratios):.3f} (median over rounds "
        f"{', '.join(f'{r:.3f}' for r in ratios)}; goal <= {OVERHEAD_GOAL:.2f})"
    )
    print(
        f"  same in CPU time           {statistics.median(cpu_ratios):.3f} (median over rounds "
        f"{', '.join(f'{r:.3f}' for r in cpu_ratios)})"
    )
    print(
        f"offswitch wall time          {wall:.1f} s (median), {cold.seconds:.1f} s first run "
        f"(goal for the 271-configuration quick suite: < {QUICK_SUITE_GOAL_S:.0f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=None, help="configurations (all 271)")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds of each (3)")
    parser.add_argument("--max-connections", type=int, default=10, help="for both (10)")
    args = parser.parse_args()
    configs = spread(study_matrix(), args.configs)
    print(f"first run of offswitch on {REFERENCE_MODEL} ({len(configs)} configurations)")
    tasks = [build_task(group, name=name) for name, group in by_task(configs).items()]
    with tempfile.TemporaryDirectory() as log_dir:
        cold = timed_eval(tasks, REFERENCE_MODEL, args.max_connections, log_dir)
        shapes = shapes_in(log_dir)
    print(f"  {cold.seconds:.1f} s wall {cold.cpu_seconds:.1f} s CPU; timed rounds:")
    runs = alternate(
        {
            "offswitch": offswitch_runner(configs, args.max_connections),
            "baseline": baseline_runner(configs, shapes, args.max_connections),
        },
        args.repeat,
    )
    report(cold, runs, list(shapes.values()))


if __name__ == "__main__":
    main()
