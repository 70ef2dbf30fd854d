"""Request limits (plain data) and the JSON nesting depth of a document, measured without parsing it.

The depth is computed with numpy over the raw bytes (a few milliseconds for a megabyte), so a hostile
document is refused before any parser or validator recurses into it. Brackets inside strings do not
count: escaped backslashes and quotes are neutralised first, then every byte after an odd number of
quotes is inside a string.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_OPEN = (ord("["), ord("{"))
_OTHER = bytes(b for b in range(256) if b not in b'[]{}"')


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 1 << 20
    """Largest request body on any route (413 beyond; a flight plan needs far less)."""
    max_json_depth: int = 32
    """Deepest JSON nesting on REST bodies (422) and websocket frames (error frame); GeoJSON needs ~6."""
    max_ws_frame_bytes: int = 2 << 20
    """Largest websocket frame the app accepts (error frame, then close 1009). uvicorn's ``ws_max_size``
    must be above it so that the app, not the protocol layer, answers."""


def json_depth(data: bytes | str) -> int:
    """Maximum nesting of ``[`` / ``{`` in a JSON text (0 for a scalar). Malformed text gets a number too
    (the parser will reject it later); only the bound matters here."""
    raw = data.encode() if isinstance(data, str) else data
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"__").replace(b'\\"', b"__")
    structural = raw.translate(None, _OTHER)  # keep only [ ] { } " (in order), in C
    if not structural:
        return 0
    a = np.frombuffer(structural, dtype=np.uint8)
    quotes = a == ord('"')
    step = np.where((a == _OPEN[0]) | (a == _OPEN[1]), 1, np.where(quotes, 0, -1)).astype(np.int32)
    if quotes.any():
        step[(np.cumsum(quotes, dtype=np.int64) & 1) == 1] = 0  # inside a string (quotes themselves: 0)
    return int(np.cumsum(step, dtype=np.int64).max(initial=0))


def looks_like_json(data: bytes | str) -> bool:
    head = data[:64].lstrip()
    return bool(head) and head[:1] in ("[", "{", b"[", b"{")
