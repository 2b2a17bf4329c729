"""``hrsync simulator --kind bamboohr`` and ``hrsync demo``'s BambooHR simulator, as real subprocesses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ..test_simulator_cli import CTRL_C_THEN_MAIN, _free_port

CLI = [sys.executable, "-c", CTRL_C_THEN_MAIN]  # Ctrl-C reaches it whatever the test process ignores


def _wait_for(url: str, **kwargs: object) -> httpx.Response:
    for _ in range(400):
        try:
            return httpx.get(url, timeout=10, **kwargs)  # type: ignore[arg-type]
        except httpx.ConnectError:
            time.sleep(0.05)
    raise AssertionError(f"nothing answered at {url}")


def _interrupt(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:  # pragma: no cover - reported by the caller's assert
        proc.kill()
        proc.wait()


@pytest.mark.slow  # a fresh interpreter importing the whole CLI
def test_cli_serves_a_bamboohr_company_until_interrupted() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [*CLI, "simulator", "--kind", "bamboohr", "--port", str(port), "--people", "40", "--tenant", "acme",
         "--api-key", "k-123", "--no-employee-numbers"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        assert f"BambooHR simulator serving 40 people at http://127.0.0.1:{port}/api/gateway.php" in lines[0]
        assert "acme" in lines[1] and "k-123" in lines[2]
        report = httpx.post(f"http://127.0.0.1:{port}/api/gateway.php/acme/v1/reports/custom?format=JSON",
                            json={"fields": ["employeeNumber", "status"]}, auth=("k-123", "x"), timeout=10)
        assert report.status_code == 200
        rows = report.json()["employees"]
        assert len(rows) == 40 and all(r["employeeNumber"] == "" for r in rows)  # --no-employee-numbers
        refused = httpx.get(f"http://127.0.0.1:{port}/api/gateway.php/acme/v1/meta/fields", auth=("sim-demo-key", "x"))
        assert refused.status_code == 401
    finally:
        _interrupt(proc)
    assert proc.returncode == 0


@pytest.mark.slow
def test_cli_refuses_intellihr_only_options_for_bamboohr() -> None:
    result = subprocess.run([*CLI, "simulator", "--kind", "bamboohr", "--future-types", "--port", "0"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--future-types is for the intelliHR simulator" in result.stderr


@pytest.mark.slow
def test_demo_serves_bamboohr_beside_intellihr(tmp_path: Path) -> None:
    portal, sim_port, smtp = _free_port(), _free_port(), _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HRSYNC_DATA_DIR": str(tmp_path)}
    env.pop("HRSYNC_DATABASE_URL", None)
    proc = subprocess.Popen(
        [*CLI, "demo", "--port", str(portal), "--people", "25", "--simulator-port", str(sim_port),
         "--smtp-port", str(smtp)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    try:
        assert proc.stdout is not None
        banner = ""
        while "Stop with Ctrl-C" not in banner:
            line = proc.stdout.readline()
            assert line, banner
            banner += line
        bamboo = f"http://127.0.0.1:{sim_port + 1}/api/gateway.php"
        assert f"BambooHR        simulator with 25 people at {bamboo}" in banner
        assert "company domain: demo   API key: sim-demo-key" in banner
        answer = _wait_for(f"{bamboo}/demo/v1/employees/directory", auth=("sim-demo-key", "x"),
                           headers={"Accept": "application/json"})
        assert answer.status_code == 200 and answer.json()["employees"]
        assert _wait_for(f"http://127.0.0.1:{sim_port}/v1/people",
                         headers={"Authorization": "Bearer sim-demo-key", "Tenant": "demo"}).status_code == 200
    finally:
        _interrupt(proc)
