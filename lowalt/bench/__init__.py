"""lowalt.bench: the ``lowalt bench ...`` benchmarks, kept out of the runtime package.

Each module is one benchmark (``cd``, ``pipeline``, ``tick``, ``filing``, ``airspace``, ``feeds``, ``map``)
with a ``main(argv) -> int`` that the CLI imports lazily by name. Benchmarks may import anything
in lowalt (they start servers, seed databases, drive websockets); nothing in lowalt may import
them, so a server never loads benchmark code (``tests/hygiene/test_bench_boundary.py``).
"""
