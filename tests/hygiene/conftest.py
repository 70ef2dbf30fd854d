"""Hygiene tests reuse the filing tests' operator fixture."""

from tests.filing.conftest import operator_factory

__all__ = ["operator_factory"]
