"""``hrsync simulator`` as a real subprocess on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


#: Ctrl-C must reach the command even when the test process inherited SIGINT ignored (a background job
#: of a non-interactive shell; a library of an earlier test in the same pytest worker): Python then keeps it
#: ignored in every child it starts, and the command would never see the interrupt.
CTRL_C_THEN_MAIN = ("import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
                    "from hrsync.cli.main import main; main()")


@pytest.mark.slow  # a fresh interpreter importing the whole CLI
def test_cli_serves_until_interrupted() -> None:
    port = _free_port()
    cmd = [
        sys.executable,
        "-c",
        CTRL_C_THEN_MAIN,
        "simulator",
        "--port",
        str(port),
        "--people",
        "60",
        "--seed",
        "4",
        "--tenant",
        "acme",
        "--api-key",
        "k-123",
        "--no-employee-numbers",
    ]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        assert f"http://127.0.0.1:{port}/v1" in lines[0]
        assert "acme" in lines[1] and "k-123" in lines[2]
        response = None
        for _ in range(100):
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/v1/people",
                    headers={"Authorization": "Bearer k-123", "Tenant": "acme"},
                )
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        assert response is not None and response.status_code == 200
        assert response.json()["meta"]["pagination"]["total"] == 60
        assert all(p["employeeNumber"] is None for p in response.json()["data"])  # --no-employee-numbers
        denied = httpx.get(
            f"http://127.0.0.1:{port}/v1/people",
            headers={"Authorization": "Bearer sim-demo-key", "Tenant": "acme"},
        )
        assert denied.status_code == 403
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - reported by the assert below
            proc.kill()
            proc.wait()
    assert proc.returncode == 0


@pytest.mark.slow
def test_cli_reports_a_busy_port() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "from hrsync.cli.main import main; main()",
                "simulator",
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert "cannot listen" in result.stderr
