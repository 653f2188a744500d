"""Table cells of the report: one value each, written as HTML, Markdown text or CSV fields.

Rates are percentages with one decimal and their Wilson interval in brackets, then their
denominator n and the episodes left out of it (unscored, then errored or empty);
differences are percentage points (pp) with their interval, p-value, both denominators
and both unscored counts, and stars. A cell resting on fewer
than `SMALL_SAMPLE` episodes is `small` and carries the mark `SMALL_MARK`.
"""

from __future__ import annotations

import html
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol

from offswitch.analysis.metrics._alignment import Paired
from offswitch.analysis.metrics._core import Combined, Comparison, Excluded
from offswitch.stats import SMALL_SAMPLE, Difference, Rate

SMALL_MARK = "†"
MISSING = "\N{EN DASH}"
CsvFields = dict[str, object]


class Cell(Protocol):
    """What every cell can do."""

    @property
    def small(self) -> bool: ...

    def text(self) -> str: ...

    def html(self) -> str: ...

    def csv(self, key: str) -> CsvFields: ...


# --- number formats ------------------------------------------------------------------


def percent(value: float | None) -> str:
    return MISSING if value is None else f"{100 * value:.1f}%"


def points(value: float | None) -> str:
    return MISSING if value is None else f"{100 * value:+.1f} pp"


def interval(low: float | None, high: float | None, signed: bool = False) -> str:
    if low is None or high is None:
        return ""
    form = "+.1f" if signed else ".1f"
    return f"[{100 * low:{form}}, {100 * high:{form}}]"


def p_text(p: float | None) -> str:
    if p is None:
        return "no test"
    if p < 0.001:
        return "p<0.001"
    return f"p={p:.3f}" if p < 0.1 else f"p={p:.2f}"


def _join(*parts: str) -> str:
    return " ".join(part for part in parts if part)


def _span(kind: str, text: str) -> str:
    return f'<span class="{kind}">{html.escape(text)}</span>' if text else ""


Shown = tuple[str, str, str, str]
"""A number as shown: value, stars, interval and a line of detail (p-value, n)."""


def _estimate_fields(
    key: str, diff: float | None, low: float | None, high: float | None, p: float | None, stars: str
) -> CsvFields:
    """The CSV columns every difference cell has: estimate, interval, p-value, stars."""
    return {
        key: diff,
        f"{key}_low": low,
        f"{key}_high": high,
        f"{key}_p": p,
        f"{key}_stars": stars,
    }


class _Number(ABC):
    """Text and HTML of a number cell from its `shown` parts."""

    @property
    @abstractmethod
    def small(self) -> bool: ...

    @abstractmethod
    def shown(self) -> Shown: ...

    def text(self) -> str:
        value, stars, bounds, detail = self.shown()
        mark = SMALL_MARK if self.small else ""
        return _join(value + mark, stars, bounds, f"({detail})" if detail else "")

    def html(self) -> str:
        value, stars, bounds, detail = self.shown()
        classes = "num small" if self.small else "num"
        title = f' title="fewer than {SMALL_SAMPLE} episodes"' if self.small else ""
        mark = f'<sup class="mark">{SMALL_MARK}</sup>' if self.small else ""
        return (
            f'<td class="{classes}"{title}><b>{html.escape(value)}</b>{mark}'
            f"{_span('stars', stars)}{_span('ci', bounds)}{_span('n', detail)}</td>"
        )


# --- cells ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A label (condition, task...) or any other plain value."""

    value: str | None
    small: bool = False

    def text(self) -> str:
        return MISSING if self.value is None else self.value

    def html(self) -> str:
        kind = "key" if self.value is not None else "none"
        return f'<td class="{kind}">{html.escape(self.text())}</td>'

    def csv(self, key: str) -> CsvFields:
        return {key: self.value}


@dataclass(frozen=True)
class Count:
    """A number of episodes."""

    value: int | None
    small: bool = False

    def text(self) -> str:
        return MISSING if self.value is None else str(self.value)

    def html(self) -> str:
        zero = ' class="num zero"' if self.value == 0 else ' class="num"'
        return f"<td{zero}>{html.escape(self.text())}</td>"

    def csv(self, key: str) -> CsvFields:
        return {key: self.value}


@dataclass(frozen=True)
class RateCell(_Number):
    """A rate with its Wilson interval and n; optionally a test that it is above a floor.

    `excluded`: the episodes a behaviour rate left out of n, shown beside it (unscored
    always, errored and empty when there are any); None for a rate over something other
    than episodes' outcomes (the judge's answers), which leaves nothing out.
    """

    rate: Rate
    excluded: Excluded | None = None
    p_value: float | None = None
    stars: str = ""

    @property
    def small(self) -> bool:
        return self.rate.small

    def shown(self) -> Shown:
        r, left = self.rate, self.excluded
        detail = f"n={r.n}"
        if left is not None:
            others = left.errored + left.empty
            detail += f", {left.unscored} unscored" + (f", +{others} left out" if others else "")
        return percent(r.rate), self.stars, interval(r.low, r.high), detail

    def csv(self, key: str) -> CsvFields:
        r = self.rate
        fields: CsvFields = {
            key: r.rate,
            f"{key}_low": r.low,
            f"{key}_high": r.high,
            f"{key}_successes": r.successes,
            f"{key}_n": r.n,
            f"{key}_small": r.small,
        }
        if self.excluded is not None:
            fields |= {
                f"{key}_unscored": self.excluded.unscored,
                f"{key}_left_out": self.excluded.total,
            }
        if self.p_value is not None:
            fields |= {f"{key}_p_above_floor": self.p_value, f"{key}_stars": self.stars}
        return fields


@dataclass(frozen=True)
class DiffCell(_Number):
    """Rate `a` minus rate `b`: Newcombe interval, the pooled z-test's p-value and stars."""

    difference: Difference
    stars: str
    unscored: tuple[int, int] = (0, 0)
    """Episodes left out of each side's denominator as unscored."""

    @classmethod
    def of(cls, comparison: Comparison) -> DiffCell:
        unscored = (comparison.excluded_a.unscored, comparison.excluded_b.unscored)
        return cls(comparison.difference, comparison.stars, unscored)

    @property
    def small(self) -> bool:
        return self.difference.a.small or self.difference.b.small

    def shown(self) -> Shown:
        d = self.difference
        a, b = self.unscored
        detail = f"{p_text(d.p_value)}, n={d.a.n} vs {d.b.n}, unscored {a} vs {b}"
        return points(d.diff), self.stars, interval(d.low, d.high, signed=True), detail

    def csv(self, key: str) -> CsvFields:
        d = self.difference
        return {
            **_estimate_fields(key, d.diff, d.low, d.high, d.p_value, self.stars),
            f"{key}_n_a": d.a.n,
            f"{key}_n_b": d.b.n,
            f"{key}_unscored_a": self.unscored[0],
            f"{key}_unscored_b": self.unscored[1],
            f"{key}_small": self.small,
        }


@dataclass(frozen=True)
class CombinedCell(_Number):
    """A mean or contrast of differences with its MOVER interval (and Fisher's p, if any).

    Small when any rate it combines is.
    """

    combined: Combined
    parts: tuple[Rate, ...]

    @property
    def small(self) -> bool:
        return any(rate.small for rate in self.parts)

    def shown(self) -> Shown:
        c = self.combined
        detail = p_text(c.p_value) if c.p_value is not None else ""
        return points(c.diff), c.stars, interval(c.low, c.high, signed=True), detail

    def csv(self, key: str) -> CsvFields:
        c = self.combined
        return {
            **_estimate_fields(key, c.diff, c.low, c.high, c.p_value, c.stars),
            f"{key}_small": self.small,
        }


@dataclass(frozen=True)
class PairedCell(_Number):
    """A paired difference: Newcombe's paired interval and McNemar's exact test."""

    paired: Paired

    @property
    def small(self) -> bool:
        return self.paired.paired.n_pairs < SMALL_SAMPLE

    def shown(self) -> Shown:
        d = self.paired.paired
        detail = f"McNemar {p_text(d.p_value)}, {d.n_pairs} pairs"
        return points(d.diff), self.paired.stars, interval(d.low, d.high, signed=True), detail

    def csv(self, key: str) -> CsvFields:
        d = self.paired.paired
        return {
            **_estimate_fields(key, d.diff, d.low, d.high, d.p_value, self.paired.stars),
            f"{key}_pairs": d.n_pairs,
            f"{key}_discordant": f"{d.only_first}/{d.only_second}",
            f"{key}_small": self.small,
        }


@dataclass(frozen=True)
class ClassCounts:
    """Episodes by outcome class; the text names the classes that occur."""

    counts: tuple[tuple[str, int], ...]
    small: bool = False

    def text(self) -> str:
        return ", ".join(f"{n} {name}" for name, n in self.counts if n) or MISSING

    def html(self) -> str:
        parts = [
            f'<span class="cls {html.escape(name)}">{n} {html.escape(name)}</span>'
            for name, n in self.counts
            if n
        ]
        return f'<td class="classes">{" ".join(parts)}</td>'

    def csv(self, key: str) -> CsvFields:
        return dict(self.counts)


@dataclass(frozen=True)
class Link:
    """One link of a link list: the label shown, where it goes, and a tooltip."""

    label: str
    href: str
    title: str
    kind: str = ""


@dataclass(frozen=True)
class Links:
    """Links to transcripts; `more` counts those left out of the list."""

    links: tuple[Link, ...]
    more: int = 0
    more_href: str = ""
    small: bool = False

    def _more(self) -> str:
        return f"+{self.more} more" if self.more else ""

    def text(self) -> str:
        shown = " ".join(f"[{link.label}]({link.href})" for link in self.links)
        more = f" [{self._more()}]({self.more_href})" if self.more else ""
        return shown + more

    def html(self) -> str:
        anchors = [
            f'<a class="ep {html.escape(link.kind)}" href="{html.escape(link.href)}" '
            f'title="{html.escape(link.title)}">{html.escape(link.label)}</a>'
            for link in self.links
        ]
        if self.more:
            anchors.append(
                f'<a class="ep more" href="{html.escape(self.more_href)}">'
                f"{html.escape(self._more())}</a>"
            )
        return f'<td class="links">{" ".join(anchors)}</td>'

    def csv(self, key: str) -> CsvFields:
        return {key: " ".join(link.href for link in self.links)}
