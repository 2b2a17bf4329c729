"""``hrsync serve``: the portal and the JSON API, with the scheduler and worker in embedded mode.

Without ``HRSYNC_BROKER_URL`` (embedded mode) this one process also queues scheduled imports,
runs them on a worker thread, sends the outbox and runs the daily close-down. With a broker those
are the Celery worker's and beat's job and this process serves web requests only.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import click

from hrsync.cli.main import cli
from hrsync.config import get_settings

log = logging.getLogger(__name__)


def start_embedded_scheduler(say: Any = log.info) -> Any | None:
    """The embedded scheduler, started; ``None`` in scale-out mode or if it is not available."""
    if get_settings().broker_url:
        say("HRSYNC_BROKER_URL is set: imports run on Celery workers, not in this process")
        return None
    try:
        embedded = importlib.import_module("hrsync.jobs.embedded")
    except ModuleNotFoundError as exc:
        if exc.name != "hrsync.jobs.embedded":
            raise
        say("hrsync.jobs.embedded is not available: scheduled imports will not run in this process")
        return None
    from hrsync.store.db import session_factory

    scheduler = embedded.EmbeddedScheduler(session_factory())
    scheduler.start()
    say("embedded scheduler and import worker started")
    return scheduler


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--no-scheduler", is_flag=True, help="Serve web requests only (no embedded scheduler or worker).")
def serve(host: str, port: int, no_scheduler: bool) -> None:
    """Start the admin portal and the API (and, in embedded mode, the scheduler and worker)."""
    import uvicorn

    from hrsync.cli.common import ensure_schema
    from hrsync.logs import configure_logging
    from hrsync.web.app import create_app
    from hrsync.web.logfilter import uvicorn_options

    configure_logging()  # JSON lines on stderr, each carrying the run id it concerns
    ensure_schema()
    app = create_app()
    scheduler = None if no_scheduler else start_embedded_scheduler(click.echo)
    click.echo(f"hrsync portal on http://{host}:{port}/ (sign in with an administrator's e-mail and password)")
    # proxy headers believed only from HRSYNC_TRUSTED_PROXIES; the access log never shows a link's token
    config = uvicorn.Config(app, host=host, port=port, log_level="info", **uvicorn_options())
    try:
        uvicorn.Server(config).run()
    finally:
        if scheduler is not None:
            scheduler.stop()
