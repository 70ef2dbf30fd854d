"""lowalt.bench: the ``lowalt bench ...`` benchmarks, kept out of the runtime package.

Each module is one benchmark (``cd``, ``pipeline``, ``tick``, ``filing``, ``airspace``, ``feeds``, ``map``)
with a ``main(argv) -> int`` that the CLI imports lazily by name. Benchmarks may import anything
in lowalt (they start servers, seed databases, drive websockets); nothing in lowalt may import
them, so a server never loads benchmark code (``tests/hygiene/test_bench_boundary.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

_T = TypeVar("_T")


def run_on_server_loop(main: Coroutine[Any, Any, _T]) -> _T:
    """Run ``main`` on the event loop ``lowalt serve`` runs on: uvicorn's default (``loop="auto"``), which is
    uvloop when installed (a dependency of lowalt). A benchmark that runs a service in its own process
    measures the server's configuration only on that loop: the filing nodes ran on asyncio's own loop,
    whose socket and callback handling cost a node more CPU per decision than the server spends."""
    from uvicorn.loops.auto import auto_loop_factory

    with asyncio.Runner(loop_factory=auto_loop_factory()) as runner:
        return runner.run(main)
