"""Compile the conflict engine's inner loops with numba, keeping their Python signatures typed.

Why numba: the broad phase's sweep and the exact kernel are loops over pairs whose work per pair is
a few comparisons and a few dozen flops. Vectorised numpy pays a full pass over memory for each of
those operations (~60 array passes for the kernel alone) and cannot stop a sweep early per entry;
compiled loops do the same arithmetic once per pair, in registers (docs/benchmarks/conflict.md).
numba is a well-kept JIT for numpy code (no C toolchain at install, wheels for CPython and
numpy 2), and its compiled functions stay plain Python functions under ``NUMBA_DISABLE_JIT=1``,
so the same source is both the fast path and the readable reference.

Compiled code is cached on disk (``cache=True``) next to this package or in ``NUMBA_CACHE_DIR``,
so only the first process on a machine pays the compile (a few seconds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

F = TypeVar("F", bound=Callable[..., Any])


def jit(fn: F, *, inline: bool = False) -> F:
    """``numba.njit`` with the engine's options, typed as the function it wraps.

    ``inline``: inline the function into its compiled callers at numba's IR level (a small helper
    called per pair would otherwise cost a call there).

    ``error_model="numpy"``: a division by zero yields inf/NaN as numpy does (the kernel relies on
    it), instead of raising ``ZeroDivisionError``. No ``fastmath``: results must be IEEE-exact so
    the fast engine and the brute-force reference agree bit for bit.
    """
    return cast(F, numba.njit(cache=True, error_model="numpy", nogil=True,
                              inline="always" if inline else "never")(fn))
