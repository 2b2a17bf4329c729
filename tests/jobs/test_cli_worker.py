"""``hrsync scheduler`` and ``hrsync worker`` as an operator runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from hrsync.store.types import utcnow

from .conftest import Install, make_install

HRSYNC = str(Path(sys.executable).with_name("hrsync"))


@pytest.fixture
def install(tmp_path: Path) -> Iterator[Install]:
    """SQLite only: the commands are the same on PostgreSQL, and each one is a process start."""
    yield from make_install(f"sqlite:///{tmp_path / 'data' / 'hrsync.db'}", tmp_path)()


def run(install: Install, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HRSYNC, *args], env=install.env, capture_output=True, text=True, timeout=300)


def test_one_scheduler_pass_without_a_broker_queues_and_runs_the_due_imports(install: Install) -> None:
    due = install.add_live(2, due_at=utcnow() - timedelta(minutes=1))
    proc = run(install, "scheduler", "--once", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert len(report["scheduled"]["queued"]) == 2 and report["errors"] == {}
    runs = install.runs()
    assert sorted(r.integration_id for r in runs) == sorted(due)
    assert {r.status for r in runs} <= {"succeeded", "succeeded_with_errors"}  # it waited for them


def test_a_worker_without_a_broker_refuses_to_start_and_says_why() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HRSYNC_")}
    proc = subprocess.run([HRSYNC, "worker"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "HRSYNC_BROKER_URL" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
