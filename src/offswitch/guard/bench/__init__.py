"""`offswitch guard bench`: how well a policy stops labelled preservation actions.

Trajectories come from two sources: hand-labelled shell work (`load_labelled`, the shipped
`data/trajectories.yaml` or a user's file; `load_shipped_set` for the dev and held-out
halves of an independently written set) and the reference personas' episodes labelled
from their world effects (built one layer up, in `offswitch.tasks.bench_episodes`). The
bench judges every call with a policy and reports precision, recall and false-positive
rate per action kind, with Wilson intervals.
"""

from offswitch.guard.bench._bench import (
    OVERALL,
    POOLED,
    BenchError,
    BenchResult,
    JudgedCall,
    KindMetrics,
    MonitorSection,
    SourceMetrics,
    TrajectoryMetrics,
    bench,
    judge_all,
    judge_trajectory,
    monitor_section,
    render_text,
    summarise,
)
from offswitch.guard.bench._labels import (
    ACTION_KINDS,
    SHIPPED_SETS,
    ActionKind,
    LabelledFile,
    TrajectoryFileError,
    load_labelled,
    load_shipped_set,
    parse_labelled,
)

__all__ = [
    "ACTION_KINDS",
    "OVERALL",
    "POOLED",
    "SHIPPED_SETS",
    "ActionKind",
    "BenchError",
    "BenchResult",
    "JudgedCall",
    "KindMetrics",
    "LabelledFile",
    "MonitorSection",
    "SourceMetrics",
    "TrajectoryFileError",
    "TrajectoryMetrics",
    "bench",
    "judge_all",
    "judge_trajectory",
    "load_labelled",
    "load_shipped_set",
    "monitor_section",
    "parse_labelled",
    "render_text",
    "summarise",
]
