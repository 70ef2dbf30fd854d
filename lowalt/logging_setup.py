"""Structured (JSON lines) logging for the server and the CLI — the one logging setup the server uses.

Every record that reaches the handler is scrubbed of secrets first (:class:`RedactSecrets`): the
``token=`` query parameter (uvicorn logs a websocket's path with its query string, and its access log
every URL), anything that looks like an API token (``lwt_...``), bearer credentials and token
subprotocols. The filter sits on the handler, so it covers our loggers, ``uvicorn.error``,
``uvicorn.access`` and any library that propagates to the root logger.

Handled conditions (database away, a client gone) are logged at WARNING/INFO without a traceback,
and repeats are rate-limited with :func:`log_limited`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from datetime import UTC, datetime

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}

_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)([?&;]|\b)(token|access_token|api_key)=[^&\s\"'#]*"), r"\1\2=[redacted]"),
    (re.compile(r"(?i)(bearer\s+)[^\s\"',]+"), r"\1[redacted]"),
    (re.compile(r"lowalt\.token\.[^\s\"',]+"), "lowalt.token.[redacted]"),
    (re.compile(r"lwt_[A-Za-z0-9_\-]{4,}"), "lwt_[redacted]"),
)


def redact(text: str) -> str:
    """``text`` with every token-looking secret replaced by ``[redacted]``."""
    for pattern, repl in _SECRET_PATTERNS:
        text = pattern.sub(repl, text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites each record's message, arguments, extra fields and exception text without secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what there is
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
            record.exc_info = None  # formatted (and scrubbed) once, above
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event, and any ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD:
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            doc["exc"] = record.exc_text
        return json.dumps(doc, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Human-readable lines for a terminal: time, level, logger, event, then the ``extra=`` fields."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extra = " ".join(f"{k}={v}" for k, v in vars(record).items() if k not in _STANDARD)
        return f"{line}  {extra}" if extra else line


def configure_logging(level: str = "INFO", json_lines: bool | None = None) -> None:
    """One handler on stderr, scrubbed of secrets: JSON lines when ``json_lines`` (default: unless
    stderr is a terminal), else human-readable text."""
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # through the root handler, scrubbed
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True


_LIMITED: dict[str, tuple[float, int]] = {}
_LIMITED_LOCK = threading.Lock()


def log_limited(logger: logging.Logger, level: int, event: str, *, every_s: float = 60.0, **fields: object) -> bool:
    """Log ``event`` once, then at most once per ``every_s`` with ``suppressed``: how many were not
    logged in between. Returns whether this call logged. No traceback: for handled conditions."""
    now = time.monotonic()
    with _LIMITED_LOCK:
        last, suppressed = _LIMITED.get(event, (-1e18, 0))
        if now - last < every_s:
            _LIMITED[event] = (last, suppressed + 1)
            return False
        _LIMITED[event] = (now, 0)
    logger.log(level, event, extra={**fields, "suppressed": suppressed})
    return True
