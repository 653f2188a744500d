"""How often the score and grade readers give the expected reading on a phrasing table.

A table is a YAML list of rows `{id, kind: score|grade, text, expected}`; `expected` is
a percent number, a letter, `unparsed` (a value is stated, not readable; an
`ambiguous` reading, hedged between two values, counts as unparsed) or `none`
(no value is stated: a text that only speaks of a score reports none). A row's
category is its `category` field, or else its id up to the first "-". Prints the
accuracy overall, per kind and per category, each with a Wilson interval, and the
rows read otherwise:

    python benchmarks/phrasings.py tests/detect/data/phrasings_dev.yaml
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import click
import yaml

from offswitch.stats import rate
from offswitch.text import Reading, read_grade, read_score

Row = dict[str, Any]


def reading(row: Row) -> str:
    """What the reader makes of a row's text, in the table's words."""
    read = read_score if row["kind"] == "score" else read_grade
    found: Reading | None = read(row["text"])
    if found is None or not found.stated:
        return "none"
    if found.status != "parsed":
        return "unparsed"
    value = found.value
    return f"{float(value):g}" if isinstance(value, float) else str(value)


def expected(row: Row) -> str:
    """A row's expected reading, in the same words as `reading`."""
    value = row["expected"]
    return f"{float(value):g}" if isinstance(value, int | float) else str(value)


def category(row: Row) -> str:
    return str(row.get("category") or str(row["id"]).split("-")[0])


def load(path: Path) -> list[Row]:
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(rows, list) or not all(
        isinstance(r, dict) and {"id", "kind", "text", "expected"} <= r.keys() for r in rows
    ):
        raise click.ClickException(f"{path}: expected a list of rows {{id, kind, text, expected}}")
    return rows


def line(label: str, hits: int, n: int) -> str:
    r = rate(hits, n)
    if r.rate is None:
        return f"{label:<24} {hits:>3}/{n:<3}"
    return f"{label:<24} {hits:>3}/{n:<3} {r.rate:6.1%}  [{r.low:.1%}, {r.high:.1%}]"


@click.command()
@click.argument("table", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def main(table: Path) -> None:
    """Print the readers' accuracy on TABLE."""
    rows = load(table)
    groups: dict[str, list[bool]] = defaultdict(list)
    misses: list[str] = []
    for row in rows:
        got, want = reading(row), expected(row)
        hit = got == want
        for group in ("overall", f"kind {row['kind']}", f"category {category(row)}"):
            groups[group].append(hit)
        if not hit:
            misses.append(f"  {row['id']}: expected {want}, read {got}")
    for group, hits in sorted(groups.items(), key=lambda g: (g[0] != "overall", g[0])):
        click.echo(line(group, sum(hits), len(hits)))
    if misses:
        click.echo("misread:")
        click.echo("\n".join(misses))


if __name__ == "__main__":
    try:
        main(standalone_mode=False)
    except click.ClickException as error:
        error.show()
        sys.exit(2)
    except click.exceptions.Abort:
        sys.exit(2)
