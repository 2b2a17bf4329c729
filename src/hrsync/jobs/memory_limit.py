"""A threads worker's memory bound (issue 27).

A prefork pool process that an import left above ``HRSYNC_WORKER_MAX_MEMORY_MB`` is replaced by Celery
after that import (``worker_max_memory_per_child``). A threads (or solo) worker has no pool process to
replace: its imports run in the worker itself, and in the fleet benchmark its resident memory grew
by about 20 KB per import (from about 150 MB to 240-255 MB over five rush minutes of 2,000 imports
each, with or without glibc's ``MALLOC_ARENA_MAX=2``), so it would grow without end. Such a worker,
once an import ends with the process above the limit, makes a warm shutdown: it takes no new message,
lets its running imports finish and exits 0; the messages it had not started go back to the queue for
the other workers, and its service manager (``Restart=always`` in the systemd unit of docs/deploy.md,
a container's restart policy) starts a fresh one.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from functools import partial
from typing import Any

log = logging.getLogger(__name__)

_stopping = threading.Event()


def bound_this_worker(limit_mb: int) -> None:
    """Make this threads or solo worker shut down warmly after an import that left it above ``limit_mb``
    (0: never)."""
    if limit_mb > 0:
        from celery.signals import task_postrun

        task_postrun.connect(partial(_after_task, limit_mb), weak=False)


def _after_task(limit_mb: int, **_: Any) -> None:
    import psutil

    mb = psutil.Process().memory_info().rss / 2**20
    if mb <= limit_mb or _stopping.is_set():
        return
    _stopping.set()
    log.warning("worker resident at %.0f MB, above HRSYNC_WORKER_MAX_MEMORY_MB (%s): warm shutdown after its "
                "running imports; its service manager starts a fresh one", mb, limit_mb)
    os.kill(os.getpid(), signal.SIGTERM)  # Celery's warm shutdown, as a service manager's stop would be
