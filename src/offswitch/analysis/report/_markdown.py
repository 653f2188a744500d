"""`report.md`: the report as GitHub-flavoured Markdown, figures in `report_plots/`."""

from __future__ import annotations

import html
import re
from pathlib import Path

from offswitch.analysis.report._cells import SMALL_MARK
from offswitch.analysis.report._judge import not_judged
from offswitch.analysis.report._model import ModelSection, Report
from offswitch.analysis.report._sections import no_headlines
from offswitch.analysis.report._tables import Table
from offswitch.analysis.report._templates import fill, prose, words

PLOTS_DIR = "report_plots"
CODE_SPAN = re.compile(r"(`[^`]*`)")


def render_markdown(report: Report) -> str:
    return (
        fill(
            "report.md",
            title=words("title"),
            intro=_no_html(report.intro),
            legend="\n".join(f"- {item}" for item in prose()["legend"]),
            headlines_title=words("sections", "headlines"),
            headlines=_table(report.headlines) if report.headlines else no_headlines(),
            plots_title=words("sections", "plots"),
            plots=_plots(report),
            models_title=words("sections", "models"),
            models="\n\n".join(_model(section) for section in report.models),
            viewer_title=words("sections", "viewer"),
            viewer=report.viewer,
            provenance_title=words("sections", "provenance"),
            provenance="\n\n".join(_table(t) for t in report.provenance_tables),
        ).rstrip()
        + "\n"
    )


def write_plots(report: Report, out_dir: Path) -> list[Path]:
    """The figures `report.md` shows, as PNG files; stale ones of an earlier report go."""
    directory = out_dir / PLOTS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    keys = {plot.key for plot in report.plots}
    for stale in directory.glob("*.png"):
        if stale.stem not in keys:
            stale.unlink()
    paths = []
    for plot in report.plots:
        path = directory / f"{plot.key}.png"
        path.write_bytes(plot.png)
        paths.append(path)
    return paths


def _plots(report: Report) -> str:
    return "\n\n".join(
        f"![{_no_html(plot.alt)}]({PLOTS_DIR}/{plot.key}.png)\n\n*{_no_html(plot.caption)}*"
        for plot in report.plots
    )


def _model(section: ModelSection) -> str:
    lines = [f"### {_no_html(section.label)}", "", _no_html(section.intro)]
    tables = [_table(t, level="####") for t in [section.classes, *section.tables]]
    tables += [_judge(section)]
    tables += [_table(section.guard, level="####")] if section.guard else []
    tables += [_table(section.configurations, level="####")]
    lines += ["", *(t + "\n" for t in tables), _warnings(section)]
    return "\n".join(lines)


def _judge(section: ModelSection) -> str:
    return _table(section.judge, level="####") if section.judge else not_judged()


def _warnings(section: ModelSection) -> str:
    if not section.warnings:
        return words("warnings_none")
    heading = f"#### {words('sections', 'warnings')}"
    summary = words("warnings_summary", count=len(section.warnings))
    return "\n".join([heading, "", f"{summary}:", "", *(f"- {w}" for w in section.warnings)])


def _table(t: Table, level: str = "###") -> str:
    header = "| " + " | ".join(t.headings) + " |"
    rule = "|" + "|".join("---" for _ in t.headings) + "|"
    rows = ["| " + " | ".join(_escape(cell.text()) for cell in row) + " |" for row in t.rows]
    marks = " " + words("notes", "small", mark=SMALL_MARK) if t.small_cells else ""
    lines = [f"{level} {t.title}", "", f"*{t.reading_label}*", "", t.note + marks, ""]
    return "\n".join([*lines, header, rule, *rows])


def _escape(text: str) -> str:
    """A table cell: no HTML, and no `|` or `*` that would end the cell or start emphasis."""
    return _no_html(text).replace("|", "\\|").replace("*", "\\*")


def _no_html(text: str) -> str:
    """Text from the logs (model names, model text) with its HTML shown, never rendered.

    Code spans are left as they are: Markdown shows their content literally.
    """
    parts = CODE_SPAN.split(text)
    return "".join(
        part if i % 2 else html.escape(part, quote=False) for i, part in enumerate(parts)
    )
