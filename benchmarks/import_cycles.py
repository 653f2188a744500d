"""Import cycles between offswitch's subpackages, and imports that go against the layers.

The layers contract (`lint-imports`, run in CI) fails on any import that points up; this
script says how far a tree is from it: the groups of subpackages that import each other,
directly or through others (strongly connected components of the subpackage graph).
Run it on any checkout:

    python benchmarks/import_cycles.py [--package offswitch]
"""

from __future__ import annotations

import click
import grimp


def subpackages(graph: grimp.ImportGraph, package: str) -> list[str]:
    """The top-level modules and subpackages of `package`."""
    return sorted(graph.find_children(package))


def package_edges(graph: grimp.ImportGraph, names: list[str]) -> dict[str, set[str]]:
    """Which subpackages each subpackage imports directly (from any of its modules)."""
    owner = {m: n for n in names for m in graph.find_descendants(n) | {n}}
    edges: dict[str, set[str]] = {n: set() for n in names}
    for module, package in owner.items():
        for imported in graph.find_modules_directly_imported_by(module):
            target = owner.get(imported)
            if target is not None and target != package:
                edges[package].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one subpackage (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in edges:
        if node not in index:
            visit(node)
    return groups


@click.command()
@click.option("--package", default="offswitch", show_default=True)
def main(package: str) -> None:
    """Print the groups of subpackages that import each other, and their size."""
    graph = grimp.build_graph(package)
    edges = package_edges(graph, subpackages(graph, package))
    groups = cycles(edges)
    for group in groups:
        click.echo("in one cycle: " + ", ".join(group))
    pairs = sum(len(group) * (len(group) - 1) // 2 for group in groups)
    click.echo(f"subpackages in an import cycle: {sum(map(len, groups))} of {len(edges)}")
    click.echo(f"subpackage pairs in an import cycle: {pairs}")


if __name__ == "__main__":
    main()
