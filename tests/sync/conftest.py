"""An hrsync installation per test: its own data dir and database (SQLite file or PostgreSQL),
a simulator over real HTTP, and helpers to drive it through the real CLI or the runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hrsync.config import reset_settings_cache
from hrsync.simulator import Simulator
from hrsync.store.db import dispose_engines, session_scope, upgrade

TENANT = "acme"
HRSYNC = str(Path(sys.executable).with_name("hrsync"))  # the installed console script
API_KEY = "sim-key-for-tests-1234"


@dataclass
class Install:
    env: dict[str, str]
    sim: Simulator
    url: str

    def cli(self, *args: str, stdin: str | None = None, check: bool = False) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [HRSYNC, *args], env=self.env, input=stdin,
            capture_output=True, text=True, timeout=600,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"hrsync {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return proc

    def cli_json(self, *args: str, expect: int = 0, stdin: str | None = None) -> Any:
        proc = self.cli(*args, "--json", stdin=stdin)
        assert proc.returncode == expect, (proc.returncode, proc.stdout, proc.stderr)
        if expect != 0:
            assert proc.stderr.strip() and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        return json.loads(proc.stdout)

    def members(self, programme: str = "Acme") -> dict[str, dict[str, Any]]:
        rows = self.cli_json("members", "--programme", programme)
        return {m["employee_id"]: m for m in rows if m["employee_id"] is not None}

    def setup_integration(self, *extra: str, publish: bool = True) -> int:
        self.cli_json("programme", "add", "Acme", "--admin-email", "owner@acme.test")
        created = self.cli_json(
            "integration", "add", "--programme", "Acme", "--subdomain", TENANT, "--api-key", "-", *extra,
            stdin=API_KEY + "\n",
        )
        if publish:
            self.cli_json("integration", "publish", str(created["id"]))
        return int(created["id"])


def _activate(env: dict[str, str]) -> None:
    for key in [k for k in os.environ if k.startswith("HRSYNC_")]:
        del os.environ[key]
    os.environ.update({k: v for k, v in env.items() if k.startswith("HRSYNC_")})
    reset_settings_cache()
    dispose_engines()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hrsync.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def install(database_url: str, tmp_path: Path) -> Iterator[Install]:
    with Simulator(people=120, seed=7, tenant=TENANT, api_key=API_KEY, port=0) as sim:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HRSYNC_")}
        env.update(
            HRSYNC_DATA_DIR=str(tmp_path / "data"),
            HRSYNC_DATABASE_URL=database_url,
            HRSYNC_INTELLIHR_BASE_URL=sim.base_url,
            HRSYNC_IMPORT_TIME_BUDGET="20",
        )
        _activate(env)
        upgrade()
        yield Install(env=env, sim=sim, url=database_url)
        _activate({})


__all__ = ["API_KEY", "TENANT", "Install", "session_scope"]
