"""Benchmark code stays out of the runtime: only ``lowalt.bench`` itself and the CLI (lazily, by
module name) may import ``lowalt.bench``; the server, the simulators and every other part never do.
"""

from __future__ import annotations

import grimp

# modules allowed to import lowalt.bench besides lowalt.bench.* and the CLI, with why
KNOWN_IMPORTERS: dict[str, str] = {}


def bench_importers(graph: grimp.ImportGraph) -> set[str]:
    """Modules outside ``lowalt.bench`` and ``lowalt.cli`` that import a ``lowalt.bench`` module."""
    bench = {m for m in graph.modules if m == "lowalt.bench" or m.startswith("lowalt.bench.")}
    return {
        importer
        for module in bench
        for importer in graph.find_modules_that_directly_import(module)
        if importer not in bench and importer != "lowalt.cli"
    }


def test_runtime_code_never_imports_the_benchmarks() -> None:
    graph = grimp.build_graph("lowalt", "simulators", cache_dir=None)
    assert "lowalt.bench.pipeline" in graph.modules
    importers = bench_importers(graph)
    unexpected = importers - set(KNOWN_IMPORTERS)
    assert not unexpected, f"runtime modules import lowalt.bench: {sorted(unexpected)}"
    stale = {m for m in KNOWN_IMPORTERS if m in graph.modules and m not in importers}
    assert not stale, f"listed but no longer importing lowalt.bench (delete their lines): {sorted(stale)}"


def test_the_boundary_check_finds_an_importer() -> None:
    graph = grimp.ImportGraph()
    for m in ("lowalt.bench", "lowalt.bench.cd", "lowalt.cli", "lowalt.live.service"):
        graph.add_module(m)
    graph.add_import(importer="lowalt.cli", imported="lowalt.bench.cd")
    assert bench_importers(graph) == set()
    graph.add_import(importer="lowalt.live.service", imported="lowalt.bench.cd")
    assert bench_importers(graph) == {"lowalt.live.service"}
