"""Fixtures for the portal's API tests: the filing tests' operators (with aircraft) and valid identity
numbers (GB 11643 check digit computed, never a real person's)."""

from __future__ import annotations

from tests.filing.conftest import operator_factory

__all__ = ["operator_factory", "id_number"]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(serial: int, born: str = "19900101", region: str = "360222") -> str:
    """A well-formed 18-character identity number (region, birth date, 3-digit serial, check digit)."""
    body = f"{region}{born}{serial % 1000:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True)) % 11]
