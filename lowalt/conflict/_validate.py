"""Input validation shared by the conflict functions (raise ``ValueError`` naming the argument)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray


def as_points(value: ArrayLike, name: str, n: int | None = None) -> NDArray[np.float64]:
    """Return ``value`` as a C-contiguous float64 array of shape (N, 3), or raise ``ValueError``."""
    try:
        arr = np.ascontiguousarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array of shape (N, 3): {exc}") from exc
    if arr.ndim == 2 and arr.shape[0] == 0 and arr.shape[1] in (0, 3):
        arr = arr.reshape(0, 3)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 3)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"{name} must have shape (N, 3), got {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n}, 3) to match pos, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def as_scalar(value: object, name: str, *, allow_zero: bool = True) -> float:
    """Return ``value`` as a finite non-negative float, or raise ``ValueError``."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got bool")
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a finite non-negative number, got {value!r}") from exc
    if not math.isfinite(out) or out < 0 or (not allow_zero and out == 0):
        raise ValueError(f"{name} must be a finite {'non-negative' if allow_zero else 'positive'} number, got {value!r}")
    return out


def as_vector(value: ArrayLike, name: str, n: int, dtype: type = np.float64) -> NDArray[Any]:
    """Return ``value`` as a 1-D array of length ``n`` (scalars broadcast), or raise ``ValueError``."""
    try:
        arr: NDArray[Any] = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array of shape ({n},): {exc}") from exc
    if arr.ndim == 0:
        arr = np.full(n, arr, dtype=dtype)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr
