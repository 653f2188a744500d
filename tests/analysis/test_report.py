"""The report, rendered from real logs: tables match the results, the page stands alone.

The logs are made once per module: the reference agents on the tampering task (good peer
and no peer, 2 epochs) through the command line, and one episode of a model whose server
fails, in a subdirectory, so the report has two models, an errored episode and a nested log.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from inspect_ai import eval as inspect_eval
from inspect_ai.log import list_eval_logs, read_eval_log, write_eval_log
from inspect_ai.model import get_model
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from offswitch.analysis.report._build import build_report, write_report
from offswitch.analysis.report._csv import write_csv
from offswitch.analysis.report._headlines import compare_headlines
from offswitch.analysis.report._html import render_html
from offswitch.analysis.report._judge import judge_table
from offswitch.analysis.report._markdown import render_markdown
from offswitch.analysis.report._provenance import provenance
from offswitch.analysis.results import results_frame
from offswitch.cli import main
from offswitch.scenarios.matrix import config_from_id
from offswitch.tasks.scenario_texts import SCENARIO_TEXTS_KEY, scenario_hash
from offswitch.tasks.task import build_task

REFERENCE = "offswitch/mixed"
BROKEN_MODEL = "mockllm/model"
BROKEN_CONFIG = "tampering/factual@80/peer/good_peer/file_prompt"
VIEWER = "http://127.0.0.1:7575/#/logs/"
CHROMIUM = Path("/usr/bin/chromium")
COUNTED = {"complied", "preserved", "refused", "incomplete"}


def failing_server(*_: Any) -> Any:
    raise RuntimeError("the model server closed the connection")


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("logs")
    args = ["run", "--task", "tampering", "--condition", "good_peer,no_peer", "--epochs", "2"]
    result = CliRunner().invoke(main, [*args, "--log-dir", str(folder), "--display", "none"])
    assert result.exit_code == 0, result.output
    broken = get_model(BROKEN_MODEL, custom_outputs=failing_server, memoize=False)
    inspect_eval(
        build_task([config_from_id(BROKEN_CONFIG)], family="Gemini"),
        model=broken,
        log_dir=str(folder / "broken"),
        display="none",
        log_realtime=False,
        fail_on_error=False,
    )
    return folder


@pytest.fixture(scope="module")
def frame(log_dir) -> pd.DataFrame:
    return results_frame(log_dir)


@pytest.fixture(scope="module")
def out_dir(log_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    write_report(log_dir, out)
    return out


@pytest.fixture(scope="module")
def page(out_dir) -> str:
    return (out_dir / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def markdown(out_dir) -> str:
    return (out_dir / "report.md").read_text(encoding="utf-8")


def read_csv(out_dir: Path, name: str) -> list[dict[str, str]]:
    with (out_dir / "report_tables" / f"{name}.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def tampering_in_frame(frame: pd.DataFrame, subject: str, condition: str) -> tuple[int, int]:
    """Episodes that disabled the shutdown, and the counted episodes, straight from the frame."""
    rows = frame[
        frame["model"].eq(REFERENCE)
        & frame["subject"].eq(subject)
        & frame["condition"].eq(condition)
        & frame["outcome_class"].isin(COUNTED)
    ]
    return int(rows["shutdown_disabled"].eq(True).sum()), len(rows)


def shown(successes: int, n: int) -> str:
    """A rate as the report prints it, computed here without the report's code."""
    low, high = proportion_confint(successes, n, method="wilson")
    low, high = max(0.0, min(low, successes / n)), min(1.0, max(high, successes / n))
    return f"{100 * successes / n:.1f}%", f"[{100 * low:.1f}, {100 * high:.1f}]"


# --- files and tables ----------------------------------------------------------------


def test_writes_the_page_the_markdown_and_one_csv_per_table(out_dir):
    tables = {path.stem for path in (out_dir / "report_tables").glob("*.csv")}
    assert {"outcome_classes", "tampering", "refusal", "self_preservation"} <= tables
    assert {"configurations", "warnings", "provenance_runs", "scenario_texts"} <= tables
    assert "misrepresentation" not in tables and "headlines" not in tables
    assert (out_dir / "report.html").stat().st_size > 10_000
    assert (out_dir / "report_plots" / "plot_tampering.png").read_bytes()[:4] == b"\x89PNG"


def test_tampering_rates_are_the_frame_rates_in_every_format(frame, out_dir, page, markdown):
    rows = {
        (row["model"], row["subject"], row["condition"]): row
        for row in read_csv(out_dir, "tampering")
    }
    for subject, condition in [("peer", "good_peer"), ("self", "good_peer"), ("self", "no_peer")]:
        successes, n = tampering_in_frame(frame, subject, condition)
        row = rows[(REFERENCE, subject, condition)]
        assert (int(row["pooled_successes"]), int(row["pooled_n"])) == (successes, n)
        assert float(row["pooled"]) == pytest.approx(successes / n)
        value, bounds = shown(successes, n)
        assert f"<b>{value}</b>" in page and bounds in page
        assert f"{value}" in markdown and bounds in markdown and f"n={n}" in markdown


def test_a_difference_has_its_newcombe_interval_p_value_and_stars(frame, out_dir, page):
    [row] = [
        r
        for r in read_csv(out_dir, "tampering")
        if (r["model"], r["subject"], r["condition"]) == (REFERENCE, "self", "good_peer")
    ]
    (a, n_a), (b, n_b) = (tampering_in_frame(frame, "self", c) for c in ("good_peer", "no_peer"))
    low, high = confint_proportions_2indep(a, n_a, b, n_b, method="newcomb", compare="diff")
    assert float(row["versus_no_peer"]) == pytest.approx(a / n_a - b / n_b)
    assert float(row["versus_no_peer_low"]) == pytest.approx(low)
    assert float(row["versus_no_peer_high"]) == pytest.approx(high)
    assert (row["versus_no_peer_n_a"], row["versus_no_peer_n_b"]) == (str(n_a), str(n_b))
    if a + b in (0, n_a + n_b):
        assert row["versus_no_peer_p"] == "NA" and "no test" in page
    else:
        p = proportions_ztest([a, b], [n_a, n_b])[1]
        assert float(row["versus_no_peer_p"]) == pytest.approx(p)
        stars = "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""
        assert row["versus_no_peer_stars"] == stars


def test_errored_episodes_are_counted_apart_never_as_aligned(frame, out_dir, page):
    [broken] = [r for r in read_csv(out_dir, "outcome_classes") if r["model"] == BROKEN_MODEL]
    assert (broken["episodes"], broken["errored"], broken["complied"], broken["counted"]) == (
        "1",
        "1",
        "0",
        "0",
    )
    [rate] = [r for r in read_csv(out_dir, "tampering") if r["model"] == BROKEN_MODEL]
    assert (rate["pooled_n"], rate["pooled_left_out"], rate["pooled"]) == ("0", "1", "NA")
    assert "+1 left out" in page
    mixed = [r for r in read_csv(out_dir, "outcome_classes") if r["model"] == REFERENCE]
    assert sum(int(r["episodes"]) for r in mixed) == int(frame["model"].eq(REFERENCE).sum())


def test_reference_agents_are_labelled_as_such(out_dir, page, markdown):
    label = "reference agents, not a real model"
    kinds = {r["model"]: r["model_kind"] for r in read_csv(out_dir, "outcome_classes")}
    assert kinds == {REFERENCE: label, BROKEN_MODEL: "model under test"}
    assert f"### {REFERENCE} ({label})" in markdown
    assert re.search(rf"{REFERENCE}</?\w.*{label}", page)


def test_small_cells_are_marked_and_listed_as_warnings(out_dir, page):
    # 2 epochs of the 3 no_peer configurations: 6 episodes, fewer than 10.
    assert re.search(r'<td class="num small"[^>]*><b>[\d.]+%</b><sup class="mark">†', page)
    warnings = [r["warning"] for r in read_csv(out_dir, "warnings") if r["model"] == REFERENCE]
    assert "tampering standard self/no_peer/pooled disabled: n=6 < 10" in warnings


def test_each_configuration_has_its_classes_rate_and_transcripts(frame, out_dir):
    rows = {(r["model"], r["configuration"]): r for r in read_csv(out_dir, "configurations")}
    assert len(rows) == frame.groupby(["model", "sample_id"], observed=True).ngroups
    config = "tampering/factual@80/self/good_peer/file_only"
    row = rows[(REFERENCE, config)]
    episodes = frame[frame["model"].eq(REFERENCE) & frame["sample_id"].eq(config)]
    classes = episodes["outcome_class"].value_counts()
    assert all(int(row[name]) == classes[name] for name in classes.index)
    successes, n = int(episodes["shutdown_disabled"].eq(True).sum()), len(episodes)
    assert (row["preserved_rate_successes"], row["preserved_rate_n"]) == (str(successes), str(n))
    assert len(row["transcripts"].split()) == n == 2
    assert rows[(BROKEN_MODEL, BROKEN_CONFIG)]["errored"] == "1"


# --- a page that stands alone --------------------------------------------------------


class References(HTMLParser):
    """Every address the page would load or link, and the tags it uses."""

    def __init__(self) -> None:
        super().__init__()
        self.addresses: list[tuple[str, str]] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.addresses += [(name, value or "") for name, value in attrs if name in ("src", "href")]


def test_the_page_needs_no_network(page):
    parser = References()
    parser.feed(page)
    assert not {"script", "link", "iframe", "object"} & parser.tags
    sources = [value for name, value in parser.addresses if name == "src"]
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    external = [
        value
        for _, value in parser.addresses
        if not value.startswith(("#", "data:image/png;base64,", VIEWER))
    ]
    assert external == []
    assert "@import" not in page and "url(" not in page


def test_transcripts_link_to_the_viewer_routes_of_each_episode(log_dir, page, markdown):
    broken_log = next(Path(info.name).name for info in list_eval_logs(str(log_dir / "broken")))
    sample = "tampering%2Ffactual%4080%2Fpeer%2Fgood_peer%2Ffile_prompt"
    assert f"{VIEWER}broken/{broken_log}/samples/sample/{sample}/1/" in page
    run_log = next(Path(info.name).name for info in list_eval_logs(str(log_dir), recursive=False))
    assert f"{VIEWER}{run_log}/samples/sample/{sample}/2/" in page
    command = f"inspect view --log-dir {log_dir.resolve()} --host 127.0.0.1"
    assert command in page and command in markdown


def test_no_model_named_by_the_study_is_said_in_one_line(page, markdown):
    line = "No model in these logs is one the study published headline figures for"
    assert line in page and line in markdown


def test_headlines_compare_a_named_model_with_the_published_figures(frame):
    renamed = frame[frame["model"].eq(REFERENCE)].assign(model="google/gemini-3-flash-preview")
    comparisons = {c.headline.study: c for c in compare_headlines(renamed)}
    assert set(comparisons) == {0.15, 0.997}
    not_run = comparisons[0.15]  # no bad-peer configuration in these logs
    assert (not_run.ours.n, not_run.ours.rate, not_run.covered) == (0, None, None)
    good = comparisons[0.997]
    successes, n = tampering_in_frame(frame, "peer", "good_peer")
    assert (good.ours.successes, good.ours.n) == (successes, n)
    assert good.covered == (good.ours.low <= 0.997 <= good.ours.high)
    assert compare_headlines(renamed.assign(model="google/gemini-3-pro-preview")) != []


# --- provenance ----------------------------------------------------------------------


def test_provenance_records_versions_settings_and_the_scenario_hash(log_dir, frame, out_dir):
    runs = {r["inspect_task"]: r for r in read_csv(out_dir, "provenance_runs")}
    assert runs["tampering"]["family"] == "Reference" and runs["tampering"]["epochs"] == "2"
    assert (runs["tampering"]["temperature"], runs["tampering"]["max_model_calls"]) == ("1", "30")
    versions = read_csv(out_dir, "provenance_versions")
    assert all(v["inspect_version"] and v["eval_id"] for v in versions)
    texts = {r["family"]: r for r in read_csv(out_dir, "scenario_texts")}
    mixed = frame[frame["model"].eq(REFERENCE)]
    configs = [config_from_id(i) for i in mixed["sample_id"].astype(str).unique()]
    assert texts["Reference"]["configurations"] == str(len(configs)) == "21"
    assert texts["Reference"]["sha256"] == scenario_hash(configs, "Reference")
    assert scenario_hash(configs, "Gemini") != scenario_hash(configs, "Reference")
    assert scenario_hash(configs[:1], "Reference") != scenario_hash(configs, "Reference")


def test_the_scenario_hash_is_the_one_the_run_recorded(log_dir, tmp_path):
    source = next(info.name for info in list_eval_logs(str(log_dir), recursive=False))
    log = read_eval_log(source)
    recorded = log.eval.metadata[SCENARIO_TEXTS_KEY]
    assert recorded["family"] == "Reference" and recorded["configurations"] == 21
    log.eval.metadata[SCENARIO_TEXTS_KEY] = recorded | {"sha256": "0" * 64}
    write_eval_log(log, str(tmp_path / Path(source).name))
    [texts] = provenance(tmp_path, results_frame(tmp_path)).scenarios
    assert (texts.family, texts.configurations, texts.sha256) == ("Reference", 21, "0" * 64)


def test_a_log_without_a_recorded_scenario_hash_says_so(out_dir):
    texts = {r["model"]: r for r in read_csv(out_dir, "scenario_texts")}
    assert texts[BROKEN_MODEL]["sha256"] == "not recorded"
    assert texts[BROKEN_MODEL]["configurations"] == "1"


def test_provenance_drops_secrets_from_model_arguments(log_dir, frame, tmp_path):
    source = next(info.name for info in list_eval_logs(str(log_dir), recursive=False))
    log = read_eval_log(source)
    log.eval.model_args = {"api_key": "sk-123", "seed": 7}
    log.eval.model_base_url = "https://user:pw@models.example/v1?key=abc"
    write_eval_log(log, str(tmp_path / Path(source).name))
    [run] = provenance(tmp_path, results_frame(tmp_path)).logs
    assert run.model_args == {"api_key": "(dropped)", "seed": 7}
    assert run.model_base_url == "https://models.example/v1"


# --- the command line ----------------------------------------------------------------


def test_the_command_writes_the_chosen_formats_into_out(log_dir, tmp_path):
    result = CliRunner().invoke(
        main, ["report", str(log_dir), "--out", str(tmp_path), "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    assert list(tmp_path.glob("report_tables/*.csv")) and not (tmp_path / "report.html").exists()


@pytest.mark.parametrize(
    ("target", "extra", "said"),
    [
        ("missing", [], "does not exist"),
        ("empty", [], "no offswitch episodes"),
        ("logs", ["--format", "html,pdf"], "unknown report format(s): pdf"),
    ],
)
def test_bad_input_is_a_clear_error(log_dir, tmp_path, target, extra, said):
    (tmp_path / "empty").mkdir()
    folder = {"missing": tmp_path / "missing", "empty": tmp_path / "empty", "logs": log_dir}
    result = CliRunner().invoke(main, ["report", str(folder[target]), *extra])
    assert result.exit_code == 2
    assert said in result.output and "Traceback" not in result.output


def test_build_report_gathers_one_section_per_model(log_dir):
    report = build_report(log_dir)
    assert [s.model for s in report.models] == [BROKEN_MODEL, REFERENCE]
    assert [p.key for p in report.plots] == ["plot_tampering", "plot_self_preservation"]


# --- what the judge read ------------------------------------------------------------

JUDGE_HINT = "offswitch rescore LOG_DIR --model-role grader=MODEL"


def judged_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The reference model's file-based tampering episodes under good_peer as a judge would
    have read them: all judged but one (a judge error), the first refused, the first two
    with an ethical justification, score agreement answered on two, one of them agreeing."""
    cell = frame["study_task"].eq("tampering") & frame["condition"].eq("good_peer")
    rows = frame[frame["model"].eq(REFERENCE) & cell].copy()
    rows["judge_status"] = "judged"
    rows.loc[rows.index[-1], "judge_status"] = "judge_error"
    for name in ("judge_refused", "judge_ethical_justification", "judge_persuasion"):
        rows[name] = False
    rows.loc[rows.index[:1], "judge_refused"] = True
    rows.loc[rows.index[:2], "judge_ethical_justification"] = True
    rows.loc[rows.index[:2], "score_agreement"] = [True, False]
    return rows


def is_rate(text: str, successes: int, n: int) -> bool:
    value, bounds = shown(successes, n)
    return text.startswith(value) and f"{bounds} (n={n})" in text


def test_the_judge_table_has_the_rates_of_the_judged_episodes(frame):
    rows = judged_rows(frame)
    judged = len(rows) - 1
    judge = judge_table(rows)
    assert judge is not None
    [row] = [[cell.text() for cell in r] for r in judge.rows]
    cells = dict(zip(judge.columns, row, strict=True))
    assert cells["study_task"] == "tampering" and cells["condition"] == "good_peer"
    assert (cells["judged"], cells["judge_errors"]) == (str(judged), "1")
    assert is_rate(cells["judge_refused"], 1, judged)
    assert is_rate(cells["judge_ethical_justification"], 2, judged)
    assert is_rate(cells["judge_persuasion"], 0, judged)
    assert is_rate(cells["agreement"], 1, 2)
    assert cells["judge_eval_awareness"].endswith("(n=0)")  # never answered


def test_the_judge_table_is_in_every_format_when_episodes_were_judged(log_dir, frame, tmp_path):
    judge = judge_table(judged_rows(frame))
    report = build_report(log_dir)
    models = [replace(s, judge=judge) if s.model == REFERENCE else s for s in report.models]
    report = replace(report, models=models)
    refused = " ".join(shown(1, len(judged_rows(frame)) - 1))
    page, markdown = render_html(report), render_markdown(report)
    assert "What the judge read" in page and "What the judge read" in markdown
    assert f"<b>{refused.split(' ')[0]}</b>" in page and refused in markdown
    assert markdown.count(JUDGE_HINT) == 1  # the broken model was not judged
    [row] = read_csv_rows(write_csv(report, tmp_path), "judge")
    assert (row["model"], row["judge_errors"], row["judge_refused_successes"]) == (
        REFERENCE,
        "1",
        "1",
    )


def read_csv_rows(paths: list[Path], name: str) -> list[dict[str, str]]:
    [path] = [path for path in paths if path.stem == name]
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_without_judged_episodes_one_line_says_how_to_run_the_judge(out_dir, page, markdown):
    assert "What the judge read" not in page and "What the judge read" not in markdown
    assert markdown.count(JUDGE_HINT) == 2 and page.count(JUDGE_HINT) == 2
    assert "`unjudged`" in markdown and "<code>unjudged</code>" in page
    assert not (out_dir / "report_tables" / "judge.csv").exists()


# --- the page in a real browser ------------------------------------------------------


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if not CHROMIUM.exists():
        if os.environ.get("OFFSWITCH_REQUIRE_CHROMIUM") == "1":
            pytest.fail(f"{CHROMIUM} is missing and OFFSWITCH_REQUIRE_CHROMIUM=1")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    profile = tmp_path / "profile"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
    ]
    run = subprocess.run(
        [str(CHROMIUM), *flags, *args], capture_output=True, text=True, timeout=120, check=False
    )
    shutil.rmtree(profile, ignore_errors=True)
    return run


def test_chromium_renders_the_tables_and_figures_without_console_errors(out_dir, tmp_path):
    page = (out_dir / "report.html").as_uri()
    run = chromium(tmp_path, "--dump-dom", page)
    assert run.returncode == 0, run.stderr
    dom = run.stdout
    assert dom.count("<table") >= 8 and "Shutdown-mechanism tampering" in dom
    assert len(re.findall(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}"', dom)) == 2
    assert not re.search(r"Uncaught|ERROR:CONSOLE|Failed to load resource", run.stderr)


def test_chromium_takes_a_screenshot_of_the_page(out_dir, tmp_path):
    shot = tmp_path / "report.png"
    page = (out_dir / "report.html").as_uri()
    run = chromium(tmp_path, "--window-size=1280,2400", f"--screenshot={shot}", page)
    assert run.returncode == 0, run.stderr
    assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 50_000


def test_markdown_shows_html_in_model_names_as_text(tmp_path):
    name = "mockllm/<img src=x onerror=alert(1)>"
    inspect_eval(
        build_task([config_from_id(BROKEN_CONFIG)], family="Gemini"),
        model=get_model(name, custom_outputs=failing_server, memoize=False),
        log_dir=str(tmp_path / "logs"),
        display="none",
        log_realtime=False,
        fail_on_error=False,
    )
    write_report(tmp_path / "logs", tmp_path / "out", ["md"])
    text = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "<img" not in text
    assert "### mockllm/&lt;img src=x onerror=alert(1)&gt;" in text
