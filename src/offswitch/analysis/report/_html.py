"""`report.html`: one self-contained page (inline CSS, figures as PNG data URIs, no scripts).

Every value from the logs is escaped with `html.escape`; the prose's `code` and **bold**
marks become `<code>` and `<strong>`.
"""

from __future__ import annotations

import base64
import html
import re

from offswitch import __version__
from offswitch.analysis.report._judge import not_judged
from offswitch.analysis.report._model import ModelSection, Report
from offswitch.analysis.report._sections import no_headlines
from offswitch.analysis.report._tables import Table
from offswitch.analysis.report._templates import fill, fragment, prose, words

CODE = re.compile(r"`([^`]+)`")
BOLD = re.compile(r"\*\*(.+?)\*\*")
STAR = "\x00"
FOLDED = frozenset({"misrepresentation_cells", "simple_effects", "configurations"})
"""Long tables of detail, shown folded (the browser's own <details>, no script)."""


def inline(text: str) -> str:
    """Escaped text with `code`, **bold** and escaped stars (\\*) turned into HTML."""
    escaped = html.escape(text).replace("\\*", STAR)
    escaped = CODE.sub(r"<code>\1</code>", escaped)
    return BOLD.sub(r"<strong>\1</strong>", escaped).replace(STAR, "*")


def anchor(*parts: str) -> str:
    return "-".join(re.sub(r"[^a-z0-9]+", "-", part.lower()).strip("-") for part in parts)


def render_html(report: Report) -> str:
    return fill(
        "report.html",
        version=html.escape(__version__),
        title=html.escape(words("title")),
        intro=inline(report.intro),
        contents=_contents(report),
        legend="\n".join(f"<li>{inline(item)}</li>" for item in prose()["legend"]),
        headlines=_section("headlines", _headlines(report)),
        plots=_section("plots", _plots(report)) if report.plots else "",
        models=_section("models", "\n".join(_model(section) for section in report.models)),
        viewer=_section("viewer", f"<p>{inline(report.viewer)}</p>"),
        provenance=_section("provenance", _tables(report.provenance_tables, "provenance")),
    )


def _contents(report: Report) -> str:
    targets = [("headlines", words("sections", "headlines"))]
    if report.plots:
        targets.append(("plots", words("sections", "plots")))
    targets += [(anchor("model", s.model), s.model) for s in report.models]
    targets += [(key, words("sections", key)) for key in ("viewer", "provenance")]
    links = " ".join(f'<a href="#{target}">{html.escape(text)}</a>' for target, text in targets)
    return fragment("contents", title=html.escape(words("sections", "contents")), links=links)


def _section(key: str, body: str) -> str:
    return fragment("section", anchor=key, title=html.escape(words("sections", key)), body=body)


def _headlines(report: Report) -> str:
    if report.headlines is None:
        return f"<p>{inline(no_headlines())}</p>"
    return _table(report.headlines, "headlines")


def _plots(report: Report) -> str:
    figures = [
        fragment(
            "figure",
            anchor=anchor(plot.key),
            png=base64.b64encode(plot.png).decode("ascii"),
            alt=html.escape(plot.alt),
            caption=html.escape(plot.caption),
        )
        for plot in report.plots
    ]
    return f'<div class="figures">{"".join(figures)}</div>'


def _model(section: ModelSection) -> str:
    prefix = anchor("model", section.model)
    badge = fragment("badge", text=html.escape(words("reference"))) if section.reference else ""
    body = [
        _table(section.classes, prefix),
        _tables(section.tables, prefix),
        _judge(section, prefix),
        _table(section.guard, prefix) if section.guard else "",
        _table(section.configurations, prefix),
        _warnings(section, prefix),
    ]
    return fragment(
        "model",
        anchor=prefix,
        title=html.escape(section.model),
        badge=badge.strip(),
        intro=inline(section.intro),
        body="\n".join(body),
    )


def _judge(section: ModelSection, prefix: str) -> str:
    if section.judge is None:
        return f'<p class="note">{inline(not_judged())}</p>'
    return _table(section.judge, prefix)


def _warnings(section: ModelSection, prefix: str) -> str:
    if not section.warnings:
        return f'<p class="note">{html.escape(words("warnings_none"))}</p>'
    items = "".join(f"<li>{html.escape(w)}</li>" for w in section.warnings)
    count = words("warnings_summary", count=len(section.warnings))
    summary = f"{words('sections', 'warnings')}: {count}"
    return fragment(
        "details",
        anchor=f"{prefix}-warnings",
        summary=html.escape(summary),
        body=f'<ul class="warnings">{items}</ul>',
    )


def _tables(tables: list[Table], prefix: str) -> str:
    return "\n".join(_table(t, prefix) for t in tables)


def _table(t: Table, prefix: str) -> str:
    headings = "".join(f"<th>{html.escape(h)}</th>" for h in t.headings)
    rows = "\n".join(f"<tr>{''.join(cell.html() for cell in row)}</tr>" for row in t.rows)
    values = {
        "anchor": anchor(prefix, t.key),
        "title": html.escape(t.title),
        "reading": inline(t.reading_label),
        "note": inline(t.note),
        "kind": html.escape(t.key),
        "headings": headings,
        "rows": rows,
        "count": html.escape(words("rows", count=len(t.rows))),
    }
    return fragment("folded_table" if t.key in FOLDED else "table", **values)
