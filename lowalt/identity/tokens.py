"""API tokens: random, shown once, stored only as a SHA-256 digest.

Tokens carry 256 bits of randomness, so a fast unsalted hash is enough: there is
nothing to brute-force, and a lookup by digest keeps authentication O(1).
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "lwt_"


def new_token() -> str:
    """A fresh bearer token (``lwt_`` + 43 url-safe characters)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def display_prefix(token: str) -> str:
    """The first characters, kept in clear so an admin can tell tokens apart."""
    return token[:10]
