"""Structured logs: one JSON object a line, carrying the run id of the import being worked on.

Long-running processes (``hrsync serve``, ``worker``, ``scheduler``) log to stderr for their
supervisor to collect; one-shot commands log to ``<data_dir>/hrsync.log`` so that their stderr
stays what the CLI promises: one line with the reason. Secrets never reach a log: messages are
written by our code, which never formats a key, password or token into them.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

current_run_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("current_run_id", default=None)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        run_id = getattr(record, "run_id", None) or current_run_id.get()
        if run_id is not None:
            entry["run_id"] = run_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


@contextmanager
def run_context(run_id: int) -> Iterator[None]:
    """Every log line written inside carries ``run_id``."""
    token = current_run_id.set(run_id)
    try:
        yield
    finally:
        current_run_id.reset(token)


def configure_logging(*, to_file: Path | None = None, level: str | None = None) -> None:
    """Send hrsync's logs (JSON lines) to ``to_file``, or to stderr when it is None."""
    level = (level or os.environ.get("HRSYNC_LOG_LEVEL") or "INFO").upper()
    if to_file is not None:
        to_file.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(to_file, encoding="utf-8", delay=True)
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
