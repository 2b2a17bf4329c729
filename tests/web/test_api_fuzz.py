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

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.web.conftest_b import World, world

from hrsync.services.api_tokens import create_api_token
from hrsync.store import session_scope
from hrsync.store.models import AdminUser

__all__ = ["world"]

#: Examples per operation and phase: enough to reach every declared status, few enough for about a minute.
EXAMPLES = 10
SEED = 22


@dataclass(frozen=True)
class Finding:
    returncode: int
    output: str
    operations: int  # in the OpenAPI the run read


@pytest.fixture(scope="module")
def fuzzed(world: World, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Finding]:
    """One ``schemathesis run`` per caller, the three at once (each is mostly waiting on the portal)."""
    with session_scope() as session:
        owner = session.get(AdminUser, world.acme.admin_id)
        read, _ = create_api_token(session, world.acme.programme_id, "fuzz, read only", created_by=owner,
                                   scopes=("read",))
    callers = {"full": world.acme.token, "read": read, "none": None}
    running = {}
    for who, token in callers.items():
        folder = tmp_path_factory.mktemp(f"schemathesis-{who}")
        with (folder / "output.txt").open("w") as output:  # a file, not a pipe: no run waits on a full pipe
            process = subprocess.Popen(_command(world, folder, token), stdout=output, stderr=subprocess.STDOUT,
                                       cwd=folder)
        running[who] = (process, folder / "output.txt")
    spec = httpx.get(f"{world.base_url}/api/v1/openapi.json", timeout=30).json()
    operations = sum(1 for item in spec["paths"].values() for method in item if method in _METHODS)
    return {who: Finding(process.wait(), output.read_text(), operations)
            for who, (process, output) in running.items()}


_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})


def _command(world: World, folder: Path, token: str | None) -> list[str]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "run", f"{world.base_url}/api/v1/openapi.json",
        "--checks", "all", "--seed", str(SEED), "--generation-deterministic", "--max-examples", str(EXAMPLES),
        "--workers", "1", "--no-color", "--request-timeout", "120", "--report", "junit", "--report-dir", str(folder),
    ]
    return [*command, "--header", f"Authorization: Bearer {token}"] if token else command


def _assert_clean(finding: Finding) -> None:
    assert finding.returncode == 0, finding.output[-20000:]
    assert "Failures:" not in finding.output, finding.output[-20000:]
    # every operation the API declares was exercised (a new operation is fuzzed without editing this test)
    assert f"{finding.operations} passed" in finding.output, finding.output[-5000:]


def test_schemathesis_finds_nothing_with_a_full_scope_token(fuzzed: dict[str, Finding]) -> None:
    _assert_clean(fuzzed["full"])


def test_schemathesis_finds_nothing_with_a_read_scope_token(fuzzed: dict[str, Finding]) -> None:
    _assert_clean(fuzzed["read"])


def test_schemathesis_finds_nothing_without_a_token(fuzzed: dict[str, Finding]) -> None:
    _assert_clean(fuzzed["none"])
