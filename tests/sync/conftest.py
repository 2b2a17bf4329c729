"""An hrsync installation per test: its own data dir and database (SQLite file or PostgreSQL),
a simulator over real HTTP, and helpers to drive it through the real CLI or the runner."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hrsync.config import reset_settings_cache
from hrsync.notify.catcher import MailCatcher
from hrsync.simulator import Simulator
from hrsync.store.db import dispose_engines, session_scope, upgrade

TENANT = "acme"
HRSYNC = str(Path(sys.executable).with_name("hrsync"))  # the installed console script
API_KEY = "sim-key-for-tests-1234"


@dataclass
class Install:
    """``cli`` runs an ``hrsync`` command: in this process through click's runner (the same command
    object, arguments, environment, standard input, stdout, stderr and exit code), or, when
    ``spawn`` is set (:data:`CLI_PROCESS_TESTS`, the ``cli_process`` marker, or ``HRSYNC_TEST_CLI=process``
    for every test), as the installed console script in a process of its own. ``spawn`` may name the
    command families (``closedown``, ``run``...) that start a process, the test's other commands running
    in this process. Each command family keeps tests that start the real process; the rest save a
    Python start (about a second of CPU on this machine) per command."""

    env: dict[str, str]
    sim: Simulator
    url: str
    spawn: bool | frozenset[str] = field(default_factory=lambda: os.environ.get("HRSYNC_TEST_CLI") == "process")

    def spawns(self, args: tuple[str, ...]) -> bool:
        """Does ``hrsync *args`` start a process of its own?"""
        if isinstance(self.spawn, frozenset):
            return bool(args) and args[0] in self.spawn
        return self.spawn

    def cli(self, *args: str, stdin: str | None = None, check: bool = False) -> subprocess.CompletedProcess[str]:
        if self.spawns(args):
            proc = subprocess.run(
                [HRSYNC, *args], env=self.env, input=stdin,
                capture_output=True, text=True, timeout=600,
            )
        else:
            proc = run_in_process(self.env, args, stdin)
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


def run_in_process(env: dict[str, str], args: tuple[str, ...], stdin: str | None) -> subprocess.CompletedProcess[str]:
    """``hrsync *args`` with ``env``'s HRSYNC_* settings, in this process; the test's own settings,
    logging handlers and engines are put back afterwards. An exception that escapes the command is
    written to stderr as its traceback (exit 1), as the interpreter does for the real process."""
    from click.testing import CliRunner

    from hrsync.cli.main import cli

    saved = {k: v for k, v in os.environ.items() if k.startswith("HRSYNC_")}
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    _activate(env)
    try:
        result = CliRunner().invoke(cli, list(args), input=stdin, prog_name="hrsync")
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(level)
        _activate(saved)
    stderr = result.stderr
    if result.exc_info is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(*result.exc_info))
    return subprocess.CompletedProcess([HRSYNC, *args], result.exit_code, result.stdout, stderr)


# Tests whose every ``hrsync`` command starts the installed console script. With the tests that start
# processes themselves (kill_harness: import, integration edit, outbox send, scheduler; run errors;
# worker; db; simulator; programme add in tests/web/test_password_policy.py) every command family is
# proved through a real process; on SQLite, as the PostgreSQL run of the same test calls it in-process.
#: Tests whose commands start real processes on SQLite: all of them (``None``), or the families named,
#: where the test's other commands (its set-up, member listings) are started as processes by a test above.
CLI_PROCESS_TESTS: dict[str, frozenset[str] | None] = {
    # programme add, integration add (key on stdin) and publish, import, members
    "test_import_cli.py::test_first_import_creates_members_invites_them_and_reports_bad_records": None,
    # exit code 2 with one line on stderr, a usage error, runs
    "test_import_cli.py::test_cli_speaks_json_and_exit_codes": frozenset({"import", "runs"}),
    # a held import exits 1; run reject, run approve
    "test_import_cli.py::test_mass_leavers_hold_the_run_until_an_administrator_decides": frozenset({"import", "run"}),
    # closedown
    "test_history_defects.py::test_approving_a_held_import_never_brings_back_a_member_deleted_during_the_hold":
        frozenset({"closedown"}),
}


def spawns_cli(request: pytest.FixtureRequest) -> bool | frozenset[str]:
    """Which of this test's ``hrsync`` commands run as real processes (see :class:`Install`): all
    (True), none (False) or the command families named."""
    node = request.node
    if os.environ.get("HRSYNC_TEST_CLI") == "process" or node.get_closest_marker("cli_process") is not None:
        return True
    key = f"{node.path.name}::{getattr(node, 'originalname', node.name)}"
    if key not in CLI_PROCESS_TESTS or "postgresql" in node.name:
        return False
    families = CLI_PROCESS_TESTS[key]
    return True if families is None else families


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
def install(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Install]:
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
        yield Install(env=env, sim=sim, url=database_url, spawn=spawns_cli(request))
        _activate({})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def mail(install: Install) -> Iterator[MailCatcher]:
    """A real SMTP server (aiosmtpd) on a loopback port, which the installation's e-mail goes to."""
    catcher = MailCatcher("127.0.0.1", _free_port()).start()
    install.env["HRSYNC_SMTP_URL"] = catcher.url
    try:
        yield catcher
    finally:
        catcher.stop()


__all__ = ["API_KEY", "TENANT", "Install", "session_scope"]
