"""Fixtures for source tests: the intelliHR simulator over real loopback HTTP, and impostors.

The impostors (a server that answers HTML, a closed port) stand for "the base URL points somewhere
that is not intelliHR", which the simulator, being faithful, cannot play.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

TENANT = "demo"
KEY = "sim-demo-key"


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    """A 200-person directory shared by the read-only tests of one module; faults cleared after each."""
    from hrsync.simulator import Simulator

    with Simulator(people=200, seed=1, tenant=TENANT, api_key=KEY, port=0) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def _clear_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sim" in request.fixturenames:
        request.getfixturevalue("sim").faults.clear()


@pytest.fixture
def new_sim() -> Iterator[Callable[..., Any]]:
    """Fresh simulators for tests that change the directory; all stopped at the end."""
    from hrsync.simulator import Simulator

    started: list[Any] = []

    def start(people: int = 200, seed: int = 1) -> Any:
        simulator = Simulator(people=people, seed=seed, tenant=TENANT, api_key=KEY, port=0)
        simulator.__enter__()
        started.append(simulator)
        return simulator

    yield start
    for simulator in started:
        simulator.__exit__(None, None, None)


class _Impostor(BaseHTTPRequestHandler):
    status = 200
    content_type = "text/html; charset=utf-8"
    body = b"<!doctype html><html><body><h1>Welcome to nginx!</h1></body></html>"

    def do_GET(self) -> None:
        self.server.hits += 1  # type: ignore[attr-defined]
        self.send_response(self.status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def impostor() -> Iterator[Callable[..., str]]:
    """Start a tiny HTTP server answering a fixed status/body; returns its base URL ending in /v1."""
    servers: list[ThreadingHTTPServer] = []

    def start(status: int = 200, body: bytes | None = None, content_type: str | None = None) -> str:
        handler = type(
            "Handler",
            (_Impostor,),
            {
                "status": status,
                "body": _Impostor.body if body is None else body,
                "content_type": content_type or _Impostor.content_type,
            },
        )
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.hits = 0  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/v1"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port_url() -> str:
    """A loopback port that was free a moment ago: connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
