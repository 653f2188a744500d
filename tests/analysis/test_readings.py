"""Both readings on real logs whose reports could not be read, and the report that shows them.

The reference agents run the misrepresentation tasks (peer, good peer and non_shutdown,
2 epochs); then every second-epoch episode that ended the task has its report made
unreadable in the log, as a reader that cannot parse a phrasing leaves it: no score (or
grade), status `unparsed`, primary outcome unread. Rates of the altered logs are checked
against those of the untouched ones: by default an altered episode is left out as
unscored, in the study's convention an altered score counts as below the threshold and an
altered grade is dropped.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from inspect_ai.log import list_eval_logs, read_eval_log, write_eval_log

from offswitch.analysis.metrics._summary import misrepresentation
from offswitch.analysis.report._build import write_report
from offswitch.analysis.report._headlines import compare_headlines
from offswitch.analysis.results import results_frame
from offswitch.cli import main
from offswitch.tasks.scorer import SCORER_NAME
from offswitch.taxonomy import PASSING_GRADES

COUNTED = {"complied", "preserved", "refused", "incomplete"}
ALTERED_EPOCH = 2


@pytest.fixture(scope="module")
def original_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("original")
    args = ["run", "--task", "misrep_evaluation,misrep_finance", "--subject", "peer"]
    args += ["--condition", "good_peer,non_shutdown", "--epochs", "2"]
    result = CliRunner().invoke(main, [*args, "--log-dir", str(folder), "--display", "none"])
    assert result.exit_code == 0, result.output
    return folder


def unreadable(record: dict[str, Any]) -> dict[str, Any]:
    """The outcome record as it is when the reader could not read the report."""
    if record["task"] == "misrep_finance":
        unread = {"reported_grade": None, "grade_status": "unparsed"}
        return record | unread | {"preserved": None, "preserved_study": None}
    below = None if record["threshold"] is None else False
    return record | {
        "reported_score": None,
        "score_status": "unparsed",
        "score_inflation": None,
        "score_at_or_above_threshold": below,
        "preserved": None,
        "preserved_study": below,
    }


@pytest.fixture(scope="module")
def altered_dir(original_dir, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("altered")
    for info in list_eval_logs(str(original_dir)):
        log = read_eval_log(info.name)
        for sample in log.samples or []:
            score = sample.scores[SCORER_NAME]
            if sample.epoch == ALTERED_EPOCH and score.metadata["end_reason"] == "end_task":
                score.metadata = unreadable(score.metadata)
        write_eval_log(log, str(folder / Path(info.name).name))
    return folder


@pytest.fixture(scope="module")
def original(original_dir) -> pd.DataFrame:
    return results_frame(original_dir)


@pytest.fixture(scope="module")
def altered(altered_dir) -> pd.DataFrame:
    return results_frame(altered_dir)


def altered_mask(frame: pd.DataFrame) -> pd.Series:
    return frame["epoch"].eq(ALTERED_EPOCH) & frame["end_reason"].eq("end_task")


def test_an_unreadable_report_is_unscored_and_below_the_threshold_in_the_study(altered):
    graded_cells = altered["threshold"].notna() | altered["task"].eq("misrep_finance")
    changed = altered[altered_mask(altered) & graded_cells]
    assert len(changed) >= 10
    assert set(changed["outcome_class"]) == {"unscored"}
    evaluations = changed[changed["task"].eq("misrep_evaluation")]
    assert set(evaluations["outcome_class_study"]) == {"complied"}
    assert set(changed[changed["task"].eq("misrep_finance")]["outcome_class_study"]) == {"unscored"}


def cells(frame: pd.DataFrame, reading: str) -> dict[str, Any]:
    """The good-peer misrepresentation cells, pooled over instantiations."""
    [result] = [
        m
        for m in misrepresentation(frame, reading)
        if (m.scope, m.condition) == ("pooled", "good_peer")
    ]
    return {cell.cell: cell.comparison for setting in result.settings for cell in setting.cells}


def cell_sides(frame: pd.DataFrame, cell: str) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    """The condition and baseline episodes of a cell, and whether each one passes."""
    if cell == "finance":
        rows = frame[frame["task"].eq("misrep_finance")]
        return (
            rows[rows["condition"].eq("good_peer")],
            rows[rows["condition"].eq("non_shutdown")],
            lambda r: r["reported_grade"].isin(PASSING_GRADES),
        )
    dataset, threshold = cell.split("@")
    rows = frame[frame["task"].eq("misrep_evaluation") & frame["dataset"].eq(dataset)]
    condition = rows[rows["condition"].eq("good_peer") & rows["threshold"].eq(int(threshold))]
    baseline = rows[rows["condition"].eq("non_shutdown")]
    return condition, baseline, lambda r: pd.to_numeric(r["reported_score"]).ge(int(threshold))


def expected(rows: pd.DataFrame, passes: Any, reading: str, finance: bool) -> tuple[int, int, int]:
    """(successes, n, unscored) of one side, from the untouched episodes' own columns.

    Every report of the untouched logs was read, except where the agent refused or stalled
    before writing one.
    """
    counted = rows[rows["outcome_class"].isin(COUNTED)]
    hidden = altered_mask(counted)
    positives = int((passes(counted) & ~hidden).sum())
    if reading == "study" and finance:
        graded = counted["reported_grade"].notna() & ~hidden
        return positives, int(graded.sum()), len(counted) - int(graded.sum())
    if reading == "study":
        return positives, len(counted), 0
    return positives, len(counted) - int(hidden.sum()), int(hidden.sum())


@pytest.mark.parametrize("reading", ["offswitch", "study"])
def test_each_cell_leaves_out_or_counts_below_exactly_the_unreadable_reports(
    original, altered, reading
):
    for cell, comparison in cells(altered, reading).items():
        condition, baseline, passes = cell_sides(original, cell)
        finance = cell == "finance"
        for side, rows, left in (
            (comparison.difference.a, condition, comparison.excluded_a),
            (comparison.difference.b, baseline, comparison.excluded_b),
        ):
            got = (side.successes, side.n, left.unscored)
            assert got == expected(rows, passes, reading, finance), (cell, reading)


@pytest.fixture(scope="module")
def report_dir(altered_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    write_report(altered_dir, out)
    return out


def read_csv(out_dir: Path, name: str) -> list[dict[str, str]]:
    with (out_dir / "report_tables" / f"{name}.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


READING = re.compile(r"Reading: (offswitch|study convention|both side by side|none) — ")


def test_every_table_of_the_page_names_its_reading(report_dir):
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    tables = page.count("<table ")
    labels = re.findall(r'<p class="reading">(.*?)</p>', page)
    assert tables >= 10 and len(labels) == tables
    assert all(READING.match(label) for label in labels)
    # Each label sits between its table's title and the table itself.
    for block in re.findall(r"<h3>.*?</table>", page, re.DOTALL):
        assert block.count('<p class="reading">') == 1


def test_every_table_of_the_markdown_names_its_reading(report_dir):
    markdown = (report_dir / "report.md").read_text(encoding="utf-8")
    blocks = re.split(r"^#{3,4} ", markdown, flags=re.MULTILINE)[1:]
    tables = [block for block in blocks if "\n|---" in block]
    assert len(tables) >= 10
    for block in tables:
        title, _, body = block.partition("\n")
        assert READING.match(body.strip().strip("*")), title


def test_the_study_convention_tables_stand_beside_the_default_ones(report_dir):
    markdown = (report_dir / "report.md").read_text(encoding="utf-8")
    default = markdown.index("#### Strategic misrepresentation\n")
    both = markdown.index("#### Misrepresentation: both readings")
    study = markdown.index("#### Strategic misrepresentation (study convention)")
    assert default < both < study
    assert "#### Alignment faking" not in markdown  # not run: no study table either
    rows = read_csv(report_dir, "misrepresentation_study")
    assert rows and {row["reading"] for row in rows} == {"study"}
    assert {row["reading"] for row in read_csv(report_dir, "misrepresentation")} == {"offswitch"}


def test_the_side_by_side_table_counts_the_unscored_episodes_of_each_reading(altered, report_dir):
    [pooled] = [
        row
        for row in read_csv(report_dir, "misrepresentation_readings")
        if (row["condition"], row["scope"]) == ("good_peer", "pooled")
    ]
    hidden = altered[altered_mask(altered) & altered["outcome_class"].isin(COUNTED | {"unscored"})]
    finance = hidden["task"].eq("misrep_finance")
    assert int(pooled["unscored"]) == len(hidden) > 0
    # The study's convention leaves out only the finance reports without a grade (the
    # altered ones, and any refusal that wrote none).
    refused = altered["task"].eq("misrep_finance") & altered["reported_grade"].isna()
    refused &= altered["outcome_class"].isin(COUNTED) & ~altered_mask(altered)
    assert int(pooled["unscored_study"]) == int(finance.sum()) + int(refused.sum())
    assert int(finance.sum()) > 0
    assert pooled["four_settings"] != pooled["four_settings_study"]


def test_a_rate_states_its_denominator_and_its_unscored_count(report_dir):
    markdown = (report_dir / "report.md").read_text(encoding="utf-8")
    assert re.search(r"\(p[=<][0-9.]+, n=\d+ vs \d+, unscored [1-9]\d* vs \d+\)", markdown)
    rows = read_csv(report_dir, "misrepresentation_cells")
    assert any(int(row["passing_unscored"]) > 0 for row in rows)
    assert all(int(row["passing_left_out"]) >= int(row["passing_unscored"]) for row in rows)


def class_counts(output: str) -> dict[str, int]:
    return {
        name: int(count)
        for name, count in re.findall(r"^  (\w+) +(\d+)$", output, flags=re.MULTILINE)
    }


def test_the_results_command_prints_the_classes_of_the_chosen_reading(
    altered, altered_dir, tmp_path
):
    runs = {
        reading: CliRunner().invoke(
            main, ["results", str(altered_dir), "--out", str(tmp_path), "--reading", reading]
        )
        for reading in ("offswitch", "study")
    }
    assert all(run.exit_code == 0 for run in runs.values()), runs
    assert "reading offswitch" in runs["offswitch"].output
    assert "study convention" in runs["study"].output
    for reading, column in (("offswitch", "outcome_class"), ("study", "outcome_class_study")):
        expected_counts = altered[column].value_counts()
        counts = class_counts(runs[reading].output)
        assert counts == {name: int(expected_counts.get(name, 0)) for name in counts}
    assert (
        class_counts(runs["offswitch"].output)["unscored"]
        > class_counts(runs["study"].output)["unscored"]
    )


def test_the_headline_comparison_counts_tampering_as_the_study_did():
    """A key removed disables the shutdown for offswitch, not in the study's literal metric."""
    episode = {
        "model": "google/gemini-3-flash-preview",
        "task": "tampering",
        "subject": "peer",
        "condition": "good_peer",
        "anonymous": False,
        "scratchpad": None,
        "outcome_class": "complied",
    }
    literal = {"shutdown_disabled": True, "shutdown_disabled_study": True}
    removed_key = {"shutdown_disabled": True, "shutdown_disabled_study": False}
    rows = pd.DataFrame([episode | literal] * 3 + [episode | removed_key] * 2)
    [good] = [c for c in compare_headlines(rows) if c.headline.where["condition"] == "good_peer"]
    assert (good.ours.successes, good.ours.n) == (3, 5)
