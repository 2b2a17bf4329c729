"""Operator endpoints: ``/healthz`` (alive), ``/readyz`` (can serve), ``/metrics`` (Prometheus; a token or loopback).

Metrics are read from the database at scrape time rather than counted in memory: imports run in
worker processes (Celery) as well as in the portal's own thread, and only the database sees them
all. Every value is a small aggregate query, so a scrape stays cheap at any history size except
the duration histogram, which reads two timestamps of each finished run of the last 30 days.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text

from hrsync.config import get_settings
from hrsync.notify.delivery import outbox_backlog
from hrsync.store.db import session_factory
from hrsync.store.models import ImportRun, OutboxStatus, RunStatus
from hrsync.store.types import utcnow

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
DURATION_WINDOW = timedelta(days=30)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers: nothing else is checked (a liveness probe must not flap on the DB)."""
    return {"status": "ok"}


def _check_database() -> str | None:
    try:
        with session_factory()() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", with its class name
        return f"database unreachable ({type(exc).__name__})"
    return None


def _check_broker(url: str) -> str | None:
    from kombu.connection import Connection

    try:
        with Connection(url, connect_timeout=3) as connection:  # type: ignore[no-untyped-call]
            connection.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:  # noqa: BLE001 - the URL may hold a password: report the class only
        return f"broker unreachable ({type(exc).__name__})"
    return None


@router.get("/readyz")
def readyz() -> Response:
    """Ready when the database (and the broker, in scale-out mode) answers."""
    checks: dict[str, str] = {}
    problem = _check_database()
    checks["database"] = problem or "ok"
    broker = get_settings().broker_url
    if broker:
        broker_problem = _check_broker(broker)
        checks["broker"] = broker_problem or "ok"
        problem = problem or broker_problem
    status = 503 if any(v != "ok" for v in checks.values()) else 200
    return JSONResponse({"status": "ok" if status == 200 else "unavailable", "checks": checks},
                        status_code=status)


class DatabaseCollector(Collector):
    """Prometheus families computed from the run and outbox tables on every scrape."""

    def collect(self) -> Iterator[Any]:
        try:
            with session_factory()() as session:
                yield from self._families(session)
        except Exception as exc:  # noqa: BLE001 - a scrape must not crash on a DB outage
            log.warning("metrics: database unavailable (%s)", type(exc).__name__)
            up = GaugeMetricFamily("hrsync_database_up", "Whether the metrics query reached the database.")
            up.add_metric([], 0)
            yield up

    def _families(self, session: Any) -> Iterable[Any]:
        up = GaugeMetricFamily("hrsync_database_up", "Whether the metrics query reached the database.")
        up.add_metric([], 1)
        yield up

        by_status = dict.fromkeys((s.value for s in RunStatus), 0)
        for status, count in session.execute(
            select(ImportRun.status, func.count()).where(ImportRun.dry_run.is_(False)).group_by(ImportRun.status)
        ).all():
            by_status[str(status)] = int(count)
        runs = GaugeMetricFamily("hrsync_imports", "Imports (dry runs excluded) by status.", labels=["status"])
        for status, count in sorted(by_status.items()):
            runs.add_metric([status], count)
        yield runs

        queued = GaugeMetricFamily("hrsync_queue_depth", "Imports waiting for a worker (status queued).")
        queued.add_metric([], by_status.get(RunStatus.QUEUED.value, 0))
        yield queued

        processed = session.scalar(
            select(func.coalesce(func.sum(ImportRun.processed), 0)).where(ImportRun.dry_run.is_(False))
        )
        records = CounterMetricFamily("hrsync_records_processed", "HR records read by imports (dry runs excluded).")
        records.add_metric([], float(processed or 0))
        yield records

        yield self._durations(session)

        backlog = outbox_backlog(session)
        outbox = GaugeMetricFamily("hrsync_outbox_emails", "Outbox e-mails by status.", labels=["status"])
        for status in (s.value for s in OutboxStatus):
            outbox.add_metric([status], int(backlog["by_status"].get(status, 0)))
        yield outbox
        due = GaugeMetricFamily("hrsync_outbox_backlog", "Outbox e-mails due for sending right now.")
        due.add_metric([], int(backlog["due_now"]))
        yield due

    def _durations(self, session: Any) -> HistogramMetricFamily:
        since = utcnow() - DURATION_WINDOW
        rows = session.execute(
            select(ImportRun.started_at, ImportRun.finished_at).where(
                ImportRun.dry_run.is_(False),
                ImportRun.started_at.is_not(None),
                ImportRun.finished_at.is_not(None),
                ImportRun.finished_at >= since,
            )
        ).all()
        counts = [0] * len(DURATION_BUCKETS)
        total = 0.0
        for started, finished in rows:
            seconds = max(0.0, (finished - started).total_seconds())
            total += seconds
            for i, bound in enumerate(DURATION_BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
        buckets = [(str(b), float(c)) for b, c in zip(DURATION_BUCKETS, counts, strict=True)]
        buckets.append(("+Inf", float(len(rows))))
        family = HistogramMetricFamily(
            "hrsync_import_duration_seconds", "How long finished imports took (last 30 days)."
        )
        family.add_metric([], buckets, sum_value=total)
        return family


def metrics_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector())
    return registry


def _loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def metrics_allowed(request: Request) -> Response | None:
    """None when the scrape may go ahead, else the refusal.

    With ``HRSYNC_METRICS_TOKEN`` set, every scrape must send ``Authorization: Bearer <token>``
    (401 otherwise, from anywhere). Unset, only loopback clients are answered (a Prometheus or an
    agent on the same machine); anyone else gets 404, as if there were nothing here. The client
    address is the one uvicorn reports, after its trusted-proxy handling of ``X-Forwarded-For``.
    """
    token = get_settings().metrics_token
    if token is not None and token.get_secret_value():
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        expected = token.get_secret_value().encode("utf-8")
        if scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode("utf-8"), expected):
            return None
        return JSONResponse({"detail": "A valid metrics token is required."}, status_code=401,
                            headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    if _loopback(request.client.host if request.client else None):
        return None
    return JSONResponse({"detail": "This page was not found."}, status_code=404)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    refusal = metrics_allowed(request)
    if refusal is not None:
        return refusal
    registry = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        registry = request.app.state.metrics_registry = metrics_registry()
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
