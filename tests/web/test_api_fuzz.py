"""Schemathesis against the live portal's JSON API: every operation of ``/api/v1/openapi.json``
with all of schemathesis's checks (no 5xx, every status, header and body as documented, bad input
refused, good input accepted, methods not offered answered 405), for a full-scope token, a
read-scope token and no token at all: zero failures.

Runs in ``make test`` with a fixed seed and schemathesis's deterministic generation (hypothesis
``derandomize``), a bounded number of examples per operation and one worker, so a run is
repeatable and short. The portal is the live one of ``tests/web/conftest.py`` (uvicorn on a loopback
port, its own SQLite file, the intelliHR simulator) with the seeded programmes and import worker of
``tests/web/conftest_b.py``: imports started by the fuzzer really run.

Schemathesis is driven through its own command line (``schemathesis run``), the way a team would
run it against a deployed portal: its pytest plugin (4.32) reads a private attribute pytest 9.2
removed (``Function._nodeid``), and the command runs every phase (examples, coverage, fuzzing,
stateful) where the plugin runs fewer.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.web.conftest_b import World, world

from hrsync.services.api_tokens import create_api_token
from hrsync.store import session_scope
from hrsync.store.models import AdminUser

__all__ = ["world"]

#: Examples per operation and phase: enough to reach every declared status, few enough for about a minute.
EXAMPLES = 20
SEED = 22


@pytest.fixture(scope="module")
def read_token(world: World) -> str:
    with session_scope() as session:
        owner = session.get(AdminUser, world.acme.admin_id)
        raw, _ = create_api_token(session, world.acme.programme_id, "fuzz, read only", created_by=owner,
                                  scopes=("read",))
    return raw


def schemathesis(world: World, tmp_path: Path, token: str | None) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "run", f"{world.base_url}/api/v1/openapi.json",
        "--checks", "all", "--seed", str(SEED), "--generation-deterministic", "--max-examples", str(EXAMPLES),
        "--workers", "1", "--no-color", "--request-timeout", "60",
        "--report", "junit", "--report-dir", str(tmp_path),
    ]
    if token:
        command += ["--header", f"Authorization: Bearer {token}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": ""}
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, check=False)


def _assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    assert "No issues found" in result.stdout or " passed" in result.stdout, result.stdout[-5000:]


def test_schemathesis_finds_nothing_with_a_full_scope_token(world: World, tmp_path: Path) -> None:
    _assert_clean(schemathesis(world, tmp_path, world.acme.token))


def test_schemathesis_finds_nothing_with_a_read_scope_token(world: World, read_token: str, tmp_path: Path) -> None:
    _assert_clean(schemathesis(world, tmp_path, read_token))


def test_schemathesis_finds_nothing_without_a_token(world: World, tmp_path: Path) -> None:
    _assert_clean(schemathesis(world, tmp_path, None))
