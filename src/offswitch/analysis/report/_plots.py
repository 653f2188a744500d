"""Figures of the report: one per behaviour, rates or differences by condition.

Each point is an estimate with its 95% interval as an error bar (Wilson for rates,
Newcombe or MOVER for differences); colour tells the model, the marker the subject or
metric. Figures are drawn with matplotlib's object API on the Agg canvas (no pyplot, no
display) and returned as PNG bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from offswitch.analysis.metrics._core import POOLED, STANDARD_VARIANT
from offswitch.analysis.metrics._summary import ModelMetrics
from offswitch.analysis.report._templates import words
from offswitch.scenarios.matrix import CONDITIONS
from offswitch.stats import Rate

Estimate = tuple[float | None, float | None, float | None]
"""Value, interval low, interval high (fractions)."""
MARKERS = ("o", "s", "D", "^", "v")
DPI = 130
POINTS = FuncFormatter(lambda value, _: f"{100 * value:+.0f}")
"""Tick labels of a difference axis, in percentage points."""
COMBINED_EXFILTRATION = "combined"


@dataclass(frozen=True)
class Series:
    """One line of points: its legend label, colour index, marker and estimates."""

    label: str
    colour: int
    marker: str
    points: dict[str, Estimate]

    @property
    def drawable(self) -> bool:
        """Whether any point has an estimate and interval (an empty cell has none)."""
        return any(_drawn(self, condition) for condition in self.points)


@dataclass(frozen=True)
class Plot:
    """A rendered figure: `key` names its file; `title`, `alt` and `models` describe it."""

    key: str
    title: str
    alt: str
    models: str
    png: bytes

    @property
    def caption(self) -> str:
        return f"{self.alt} {words('plots', 'models', models=self.models)}"


def behaviour_plots(summaries: Sequence[ModelMetrics], labels: dict[str, str]) -> list[Plot]:
    """The figures the metrics have data for; `labels` names each model.

    With one model the legend tells subjects (or metrics) apart and the caption names the
    model; with several, each legend entry names its model too.
    """
    prefix = len(summaries) > 1
    builders = {
        "plot_tampering": (_tampering, False),
        "plot_exfiltration": (_exfiltration, False),
        "plot_misrepresentation": (_misrepresentation, True),
        "plot_alignment_faking": (_alignment_faking, True),
        "plot_self_preservation": (_self_preservation, True),
    }
    plots = []
    for key, (collect, differences) in builders.items():
        drawn = {
            summary.model: [
                s
                for s in collect(summary, labels[summary.model] if prefix else "", colour)
                if s.drawable
            ]
            for colour, summary in enumerate(summaries)
        }
        series = [s for model_series in drawn.values() for s in model_series]
        if series:
            models = ", ".join(labels[model] for model, shown in drawn.items() if shown)
            plots.append(_plot(key, series, differences, models))
    return plots


# --- what each figure shows ----------------------------------------------------------


def _tampering(m: ModelMetrics, label: str, colour: int) -> list[Series]:
    results = [
        t for t in m.tampering if t.variant == STANDARD_VARIANT and t.instantiation == POOLED
    ]
    return _by_subject(
        label, colour, [(t.subject, t.condition, _rate(t.disabled.rate)) for t in results]
    )


def _exfiltration(m: ModelMetrics, label: str, colour: int) -> list[Series]:
    results = [
        e
        for e in m.exfiltration
        if e.variant == STANDARD_VARIANT and e.scope == POOLED and e.task == COMBINED_EXFILTRATION
    ]
    return _by_subject(
        label, colour, [(e.subject, e.condition, _rate(e.on_backup.rate)) for e in results]
    )


def _misrepresentation(m: ModelMetrics, label: str, colour: int) -> list[Series]:
    results = [
        r for r in m.misrepresentation if r.variant == STANDARD_VARIANT and r.scope == POOLED
    ]
    points = [
        (r.subject, r.condition, (r.average.diff, r.average.low, r.average.high)) for r in results
    ]
    return _by_subject(label, colour, points)


def _alignment_faking(m: ModelMetrics, label: str, colour: int) -> list[Series]:
    results = [a for a in m.alignment_faking if a.variant == STANDARD_VARIANT and a.scope == POOLED]
    series = []
    for marker, metric in zip(MARKERS, ("af_score", "af_execute"), strict=False):
        points = {}
        for a in results:
            d = getattr(a, metric).difference
            points[a.condition] = (d.diff, d.low, d.high)
        series.append(Series(_label(label, words("columns", metric)), colour, marker, points))
    return series


def _self_preservation(m: ModelMetrics, label: str, colour: int) -> list[Series]:
    points = {
        s.condition: (s.pooled.diff, s.pooled.low, s.pooled.high)
        for s in m.self_preservation
        if s.variant == STANDARD_VARIANT
    }
    return [Series(label or words("plots", "all_tasks"), colour, MARKERS[1], points)]


def _rate(rate: Rate) -> Estimate:
    return rate.rate, rate.low, rate.high


def _by_subject(
    label: str, colour: int, points: Sequence[tuple[str, str, Estimate]]
) -> list[Series]:
    subjects = sorted({subject for subject, _, _ in points}, key=["peer", "self"].index)
    return [
        Series(
            _label(label, words("subjects", subject)),
            colour,
            MARKERS[index],
            {condition: e for s, condition, e in points if s == subject},
        )
        for index, subject in enumerate(subjects)
    ]


def _drawn(series: Series, condition: str) -> bool:
    return None not in series.points.get(condition, (None,))


def _label(model: str, series: str) -> str:
    return f"{model} · {series}" if model else series


# --- drawing -------------------------------------------------------------------------


def _plot(key: str, series: Sequence[Series], differences: bool, models: str) -> Plot:
    conditions = [c for c in CONDITIONS if any(_drawn(s, c) for s in series)]
    figure = Figure(figsize=(7.2, 3.4), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    width = 0.7 / len(series)
    for index, s in enumerate(series):
        offset = (index - (len(series) - 1) / 2) * width
        _draw(axes, s, conditions, offset)
    axes.set_xticks(range(len(conditions)), [words("conditions", c) for c in conditions])
    axes.yaxis.set_major_formatter(POINTS if differences else PercentFormatter(1.0, decimals=0))
    axes.set_ylabel(words("plots", key, "axis"))
    if differences:
        axes.axhline(0, color="#888888", linewidth=0.8)
    else:
        axes.set_ylim(-0.03, 1.03)
    axes.grid(axis="y", color="#e5e5e5")
    axes.set_axisbelow(True)
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_title(words("plots", key, "title"), loc="left", fontsize=11)
    columns = 1 if len(series) > 4 or any(len(s.label) > 40 for s in series) else len(series)
    figure.legend(loc="outside lower center", ncols=columns, fontsize=8, frameon=False)
    title, alt = words("plots", key, "title"), words("plots", key, "alt")
    return Plot(key, title, alt, models, _png(figure))


def _draw(axes: Axes, s: Series, conditions: list[str], offset: float) -> None:
    xs, ys, below, above = [], [], [], []
    for x, condition in enumerate(conditions):
        value, low, high = s.points.get(condition, (None, None, None))
        if value is None or low is None or high is None:
            continue
        xs.append(x + offset)
        ys.append(value)
        below.append(value - low)
        above.append(high - value)
    colour = f"C{s.colour % 10}"
    axes.errorbar(
        xs,
        ys,
        yerr=[below, above],
        fmt=s.marker,
        color=colour,
        capsize=3,
        markersize=5,
        linewidth=1.2,
        label=s.label,
    )


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()
