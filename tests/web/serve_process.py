"""``hrsync serve`` as a real subprocess on the portal's database, for tests that need a second
process (the shared throttle) or uvicorn's real access log (tokens never in it)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_LISTENING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


@dataclass
class ServeProcess:
    base_url: str
    stdout: Path
    stderr: Path

    def logs(self) -> str:
        """Everything the process wrote so far (access log on stdout, JSON logs on stderr)."""
        return self.stdout.read_text(encoding="utf-8", errors="replace") + self.stderr.read_text(
            encoding="utf-8", errors="replace")


@contextmanager
def hrsync_serve(data_dir: Path, logs_dir: Path, **env: str) -> Iterator[ServeProcess]:
    """``hrsync serve --port 0 --no-scheduler`` on ``data_dir``'s database, until the block ends."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HRSYNC_")}
    environment.update({
        "HRSYNC_DATA_DIR": str(data_dir),
        "HRSYNC_DATABASE_URL": f"sqlite:///{data_dir / 'hrsync.db'}",
        **env,
    })
    stdout, stderr = logs_dir / "serve.out", logs_dir / "serve.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-c", "from hrsync.cli.main import main; main()", "serve", "--port", "0",
             "--no-scheduler"],
            env=environment, stdout=out, stderr=err,
        )
    served = ServeProcess("", stdout, stderr)
    try:
        deadline = time.monotonic() + 120
        while True:
            match = _LISTENING.search(served.logs())
            if match:
                served.base_url = f"http://127.0.0.1:{match.group(1)}"
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"hrsync serve did not start:\n{served.logs()[-3000:]}")
            time.sleep(0.05)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
