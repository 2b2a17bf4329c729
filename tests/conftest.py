"""Shared fixtures: real services, started or found by the tests.

A test that needs PostgreSQL, Redis or RabbitMQ asks for the matching fixture. Where the service
is not listening the test is skipped with the reason, except under ``CI=true``, where a missing
service is a failure: CI must never go green by skipping.

``make test`` runs the suite on pytest-xdist workers (``--dist loadgroup``, README "Testing"): every
fixture here is safe in parallel (a PostgreSQL database, a Celery queue and a port of each test's
own), and :func:`pytest_collection_modifyitems` keeps together what must share a worker.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ON_CI = os.environ.get("CI", "").lower() == "true"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    if _listening(host, port):
        return
    reason = f"{name} is not listening on {host}:{port}"
    if ON_CI:
        pytest.fail(f"{reason}, and CI=true requires it", pytrace=False)
    pytest.skip(reason)


# Modules whose module-scoped fixtures are cheap (an empty simulator, a mail catcher) while their
# tests are the longest of the suite: each test is scheduled on its own so they can run side by side.
SPLIT_MODULES = frozenset({"tests/sync/test_history_model.py"})
# Modules that start Celery worker processes share one xdist worker, so that no two of them run at once
# (each starts several processes of its own, and all of them share the brokers' control exchanges).
GROUPS = {
    "tests/jobs/test_celery_workers.py": "celery-workers",
    "tests/sync/test_kill_imports.py": "celery-workers",
}


# The longest units of work, longest first (seconds in a fresh-clone `make test` of 2026-12-07: the SQLite
# histories 89, the celery-workers group about 100 in all, the browser layout module 73, the API fuzz 56, the
# PostgreSQL histories 53, the fingerprint equivalence 49). They start first, then every module with a test
# marked ``slow``, then the rest in collection order: the workers take units in this order, and a long one
# taken last would leave the other worker idle at the end (longest first keeps the two finishing together).
HEAVIEST = (
    "tests/sync/test_history_model.py",
    "tests/jobs/test_celery_workers.py",
    "tests/sync/test_kill_imports.py",
    "tests/web/test_browser_layout.py",
    "tests/web/test_api_fuzz.py",
    "tests/sync/test_fingerprint_equivalence.py",
)


def _longest_first(items: list[pytest.Item]) -> None:
    """Reorder ``items`` module by module (a module's tests keep their order and stay together)."""
    rank: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        if module in HEAVIEST:
            rank[module] = HEAVIEST.index(module)
        elif item.get_closest_marker("slow") is not None:
            rank[module] = len(HEAVIEST)  # one slow test brings its whole module forward
        else:
            rank.setdefault(module, len(HEAVIEST) + 1)
    items.sort(key=lambda item: rank[item.nodeid.split("::", 1)[0]])


def _module_scoped(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(d.scope in ("module", "class", "package") for defs in info.name2fixturedefs.values() for d in defs)


@pytest.hookimpl(wrapper=True)  # the marks before pytest-xdist reads them, the check after
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> Iterator[None]:
    """Under ``--dist loadgroup``: a module with a module-scoped fixture (the portal, a shared
    simulator) is one unit of work, so its fixture starts once; every other test is its own unit. The
    longest units come first (:data:`HEAVIEST`)."""
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        if module in GROUPS:
            item.add_marker(pytest.mark.xdist_group(GROUPS[module]))
        elif module not in SPLIT_MODULES and _module_scoped(item):
            item.add_marker(pytest.mark.xdist_group(module))
    _longest_first(items)
    result = yield
    if config.getoption("loadgroup", default=False):  # set on an xdist worker under --dist loadgroup
        for item in items:
            _name_the_group(item)
    return result


def _name_the_group(item: pytest.Item) -> None:
    """The group suffix pytest-xdist's scheduler reads from the node id (``...::test@group``).

    pytest-xdist 3.8 appends it by assigning ``item._nodeid``, which pytest 9.2 no longer reads (node
    ids are structured, ``item._id``): the marks were silently ignored and every test was scheduled on
    its own (pytest-dev/pytest-xdist#1386), so a module's portal started on both workers and the Celery
    modules ran side by side. Where xdist's suffix did not take, it is set here the same way; once
    xdist sets it itself this does nothing."""
    names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                    for m in item.iter_markers("xdist_group")})
    if not names:
        return
    suffix = "@" + "_".join(names)
    if item.nodeid.endswith(suffix):
        return
    from _pytest.nodeid import NodeId  # pytest >= 9.2 only, where the ids are structured

    item._id = NodeId.parse(item.nodeid + suffix)  # type: ignore[attr-defined]
    assert item.nodeid.endswith(suffix), item.nodeid


def worker_id() -> str:
    """``gw0``, ``gw1``... under pytest-xdist; ``main`` otherwise (for names that must differ per worker)."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """Base URL of the local PostgreSQL server (user postgres, trust auth)."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    return "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import psycopg

    name = f"hrsync_test_{worker_id()}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{postgres_server}/{name}"
    finally:
        with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url() -> str:
    require_service("Redis", "127.0.0.1", 6379)
    return "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session")
def amqp_url() -> str:
    require_service("RabbitMQ", "127.0.0.1", 5672)
    return "amqp://guest:guest@127.0.0.1:5672//"


@pytest.fixture
def artifacts_dir(request: pytest.FixtureRequest) -> Path:
    """An ignored folder for screenshots and other things a person may want to look at."""
    path = ARTIFACTS / request.node.name
    path.mkdir(parents=True, exist_ok=True)
    return path
