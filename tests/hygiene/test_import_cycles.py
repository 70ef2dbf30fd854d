"""No new import cycles: between the parts of ``lowalt`` (``lowalt.api``, ``lowalt.filing``, ...) and
between modules, counting imports inside functions too (grimp's import graph).

The cycles that exist today are listed with why they are there; a cycle not listed fails. When one
is removed, delete its line.
"""

from __future__ import annotations

import grimp

KNOWN_PART_CYCLES: dict[frozenset[str], str] = {
}
KNOWN_MODULE_CYCLES: dict[frozenset[str], str] = {
}


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph("lowalt", "simulators", cache_dir=None)


def _part(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "lowalt" and len(parts) > 1 else parts[0]


def part_cycles(graph: grimp.ImportGraph) -> set[frozenset[str]]:
    """Pairs of parts that import each other."""
    edges = {(_part(m), _part(i)) for m in graph.modules for i in graph.find_modules_directly_imported_by(m)}
    return {frozenset(e) for e in edges if e[0] != e[1] and (e[1], e[0]) in edges}


def module_cycles(graph: grimp.ImportGraph) -> set[frozenset[str]]:
    """Strongly connected groups of modules (Tarjan, iterative)."""
    adjacency = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()
    for root in sorted(adjacency):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            if i < len(adjacency[node]):
                work.append((node, i + 1))
                nxt = adjacency[node][i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.add(frozenset(group))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def test_no_new_cycle_between_parts() -> None:
    new = part_cycles(_graph()) - set(KNOWN_PART_CYCLES)
    assert not new, f"new import cycles between parts: {[sorted(c) for c in new]}"


def test_no_new_cycle_between_modules() -> None:
    new = module_cycles(_graph()) - set(KNOWN_MODULE_CYCLES)
    assert not new, f"new import cycles between modules: {[sorted(c) for c in new]}"


def test_every_known_cycle_still_exists() -> None:
    """A removed cycle must leave the list too, or it could come back unnoticed."""
    graph = _graph()
    gone = (set(KNOWN_PART_CYCLES) - part_cycles(graph)) | (set(KNOWN_MODULE_CYCLES) - module_cycles(graph))
    assert not gone, f"cycles listed as known but gone (delete their lines): {[sorted(c) for c in gone]}"


def test_the_cycle_finders_find_cycles() -> None:
    graph = grimp.ImportGraph()
    for m in ("lowalt", "lowalt.a", "lowalt.a.x", "lowalt.a.z", "lowalt.b", "lowalt.b.y", "lowalt.c"):
        graph.add_module(m)
    graph.add_import(importer="lowalt.a.x", imported="lowalt.b.y")
    graph.add_import(importer="lowalt.b.y", imported="lowalt.a.z")  # parts a <-> b, modules acyclic
    assert module_cycles(graph) == set()
    assert part_cycles(graph) == {frozenset({"lowalt.a", "lowalt.b"})}
    graph.add_import(importer="lowalt.a.z", imported="lowalt.c")
    graph.add_import(importer="lowalt.c", imported="lowalt.a.x")  # x -> y -> z -> c -> x
    assert module_cycles(graph) == {frozenset({"lowalt.a.x", "lowalt.b.y", "lowalt.a.z", "lowalt.c"})}
