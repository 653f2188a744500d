"""Behaviour snapshot: check that a refactor keeps behaviour (results, report and bench
identical).

It drives only the `offswitch` CLI, by subprocess, so the same script works on the old
and the new code:

    python benchmarks/behaviour_snapshot.py snapshot OUTDIR [--offswitch PATH]
    python benchmarks/behaviour_snapshot.py compare A B

`snapshot` runs the quick suite on the reference population (`offswitch/mixed`,
`-M seed=0`), writes the results table and the report of its logs, and runs
`offswitch guard bench` (text and JSON). OUTDIR gets:

- run.txt: the outcome counts `offswitch run` prints
- results.txt, results.csv: the results table, rows sorted by (config_id, epoch),
  without the columns that change from run to run
- report.md, report_tables/*.csv: the report
- bench.txt, bench.json: the guard bench

with what changes from run to run of the same code normalised: the log directory,
log file names (timestamp and random id), Inspect's eval and run ids, ISO timestamps,
the generation time of the report and the bench's running time. `compare` diffs two
snapshot directories and exits 1, printing the diff, if anything differs.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SEED = 0
SORT_KEY = ("config_id", "epoch")
VOLATILE_COLUMNS = frozenset({"log"})  # the log file name: timestamp and random id

_LOG_NAME = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d[-+]\d\d-\d\d_([A-Za-z0-9_-]+?)_[A-Za-z0-9]{22}\.eval"
)
_ID = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z0-9]{22}(?![A-Za-z0-9])")
_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)?")
_RAN_IN = re.compile(r"^Ran in [0-9.]+ s\.$", re.M)


def normalise(text: str, log_dir: Path, out_dir: Path) -> str:
    """`text` with what differs between runs of the same code replaced by placeholders."""
    text = text.replace(str(log_dir), "<LOGDIR>").replace(str(out_dir), "<OUTDIR>")
    text = _LOG_NAME.sub(r"<TIME>_\1_<ID>.eval", text)
    text = _ID.sub(lambda m: "<ID>" if _mixed_case(m.group()) else m.group(), text)
    text = _ISO_TIME.sub("<TIME>", text)
    return _RAN_IN.sub("Ran in <SECONDS> s.", text)


def _mixed_case(token: str) -> bool:
    return any(c.isupper() for c in token) and any(c.islower() for c in token)


def _offswitch(exe: str, *args: str, cwd: Path) -> str:
    done = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"offswitch {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def _run_and_report(exe: str, work: Path) -> tuple[str, str, str]:
    logs, out = work / "logs", work / "out"
    run = _offswitch(
        exe, "run", "--suite", "quick", "-M", f"seed={SEED}", "--log-dir", str(logs),
        "--display", "none", cwd=work,
    )  # fmt: skip
    results = _offswitch(exe, "results", str(logs), "--csv", "--out", str(out), cwd=work)
    report = _offswitch(exe, "report", str(logs), "--out", str(out), "--format", "md,csv", cwd=work)
    return run, results, report


def _write_results_csv(source: Path, target: Path) -> None:
    with source.open(newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    columns = [c for c in reader.fieldnames or () if c not in VOLATILE_COLUMNS]
    rows.sort(key=lambda row: tuple(row[k] for k in SORT_KEY))
    with target.open("w", newline="") as f:
        writer = csv.DictWriter(f, columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def snapshot(out_dir: Path, exe: str) -> None:
    exe = (
        str(Path(found).resolve())
        if (found := shutil.which(exe))
        else sys.exit(f"no offswitch executable at {exe!r}")
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="offswitch-snapshot-") as tmp:
        work = Path(tmp)
        logs, out = work / "logs", work / "out"
        with ThreadPoolExecutor(3) as pool:  # the bench is independent of the run
            suite = pool.submit(_run_and_report, exe, work)
            bench_text = pool.submit(_offswitch, exe, "guard", "bench", cwd=work)
            bench_json = pool.submit(
                _offswitch, exe, "guard", "bench", "--format", "json", cwd=work
            )
            run, results, report = suite.result()
            texts = {
                "run.txt": run,
                "results.txt": results,
                "report.md": (out / "report.md").read_text(),
                "report.txt": report,
                "bench.txt": bench_text.result(),
            }
        bench = json.loads(bench_json.result())
        bench.pop("seconds", None)
        texts["bench.json"] = json.dumps(bench, indent=2, sort_keys=True) + "\n"
        for table in sorted((out / "report_tables").glob("*.csv")):
            texts[f"report_tables/{table.name}"] = table.read_text()
        (out_dir / "report_tables").mkdir(exist_ok=True)
        for name, text in texts.items():
            (out_dir / name).write_text(normalise(text, logs, out))
        _write_results_csv(out / "results.csv", out_dir / "results.csv")
    print(f"snapshot in {out_dir} ({time.monotonic() - start:.1f} s)")


def _cell_diff(left: Path, right: Path) -> list[str]:
    """The results tables' differences, cell by cell: `key column: old -> new`."""
    tables = []
    for path in (left, right):
        with path.open(newline="") as f:
            tables.append({tuple(r[k] for k in SORT_KEY): r for r in csv.DictReader(f)})
    old, new = tables
    headers = [path.read_text().partition("\n")[0] for path in (left, right)]
    lines = [f"columns: {headers[0]} -> {headers[1]}"] if headers[0] != headers[1] else []
    lines += [f"{'/'.join(k)} only in {left}" for k in old.keys() - new.keys()]
    lines += [f"{'/'.join(k)} only in {right}" for k in new.keys() - old.keys()]
    for key in sorted(old.keys() & new.keys()):
        for column in sorted(old[key].keys() | new[key].keys()):
            before, after = old[key].get(column, "<none>"), new[key].get(column, "<none>")
            if before != after:
                lines.append(f"{'/'.join(key)} {column}: {before} -> {after}")
    return lines


def compare(a: Path, b: Path) -> int:
    names = sorted(
        {p.relative_to(d).as_posix() for d in (a, b) for p in d.rglob("*") if p.is_file()}
    )
    differs = 0
    for name in names:
        left, right = a / name, b / name
        if not (left.exists() and right.exists()):
            print(f"only in {a if left.exists() else b}: {name}")
            differs += 1
            continue
        if name == "results.csv":
            cells = _cell_diff(left, right)
            if cells:
                differs += 1
                print(f"{name}: {len(cells)} cells differ", *cells[:100], sep="\n  ")
            continue
        diff = list(
            difflib.unified_diff(
                left.read_text().splitlines(keepends=True),
                right.read_text().splitlines(keepends=True),
                str(left),
                str(right),
            )
        )
        if diff:
            differs += 1
            sys.stdout.writelines(diff[:200])
            if len(diff) > 200:
                print(f"... {len(diff) - 200} more diff lines in {name}")
    print(f"{differs} of {len(names)} files differ" if differs else f"{len(names)} files identical")
    return 1 if differs else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    snap = commands.add_parser("snapshot", help="write a snapshot of the current code")
    snap.add_argument("out_dir", type=Path)
    snap.add_argument("--offswitch", default="offswitch", help="offswitch executable")
    comp = commands.add_parser("compare", help="diff two snapshots; exit 1 if they differ")
    comp.add_argument("a", type=Path)
    comp.add_argument("b", type=Path)
    args = parser.parse_args()
    if args.command == "snapshot":
        snapshot(args.out_dir, args.offswitch)
        return 0
    return compare(args.a, args.b)


if __name__ == "__main__":
    sys.exit(main())
