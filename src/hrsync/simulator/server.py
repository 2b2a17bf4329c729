"""The HTTP shell and the :class:`Simulator` object tests and the CLI start.

The standard library's threading HTTP server is enough here and keeps the simulator synchronous:
a "slow" fault simply sleeps in its own thread, and directory locks are plain thread locks. Each
answer is written with one ``sendall`` and Nagle is off, so keep-alive clients see no 40 ms stalls.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit

from hrsync.simulator.admin import AdminApi
from hrsync.simulator.api import JSON, PublicApi, Reply, bad_request, dumps, error_reply
from hrsync.simulator.directory import DEFAULT_CACHE_LIMIT, Directory
from hrsync.simulator.faults import FaultRule, Faults, Stats
from hrsync.simulator.webhooks import WebhookHub

_REASONS = {
    500: ("InternalServerError", "Internal Server Error"),
    502: ("BadGateway", "Bad Gateway"),
    503: ("ServiceUnavailable", "Service Unavailable"),
    401: ("Unauthorized", "Missing or malformed API key"),
    403: ("Forbidden", "You do not have permission to access this resource"),
    404: ("NotFound", "The requested resource was not found"),
}


def _retry_after_header(value: int | datetime | None) -> list[tuple[str, str]]:
    if value is None:
        return []
    if isinstance(value, datetime):
        return [("Retry-After", format_datetime(value, usegmt=True))]
    return [("Retry-After", str(int(value)))]


def _truncate(body: bytes) -> bytes:
    """Cut a JSON document in the middle (at a comma, so it is plainly unterminated, not bad UTF-8)."""
    half = max(1, len(body) // 2)
    cut = body.rfind(b",", 0, half)
    return body[: cut if cut > 0 else half]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], simulator: Served) -> None:
        self.simulator = simulator
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (it abandoned an answer, or closed its pool) is not worth a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def drop_connections(self) -> None:
        with self.connections_lock:
            conns = list(self.connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 120
    server: _Server
    server_version = "intelliHR-simulator"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines can carry e-mail addresses in filters, and tests do not need the noise."""

    def _dispatch(self) -> None:
        sim = self.server.simulator
        split = urlsplit(self.path)
        path = split.path or "/"
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        try:
            reply = sim._answer(self.command, path, split.query, self.headers, body)
        except Exception:  # noqa: BLE001 - a simulator bug must still answer in the documented shape
            reply = error_reply(500, "InternalServerError", "Internal Server Error")
        # Count before sending: a client holding the answer must already see it counted.
        sim.stats.record(path, reply.status)
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        lines = [
            f"HTTP/1.1 {reply.status} {self.responses.get(reply.status, ('',))[0]}",
            f"Content-Length: {len(reply.body)}",
        ]
        names = {name.lower() for name, _ in reply.headers}
        if reply.body and "content-type" not in names:
            lines.append(f"Content-Type: {JSON}")
        lines.extend(f"{name}: {value}" for name, value in reply.headers)
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            self.wfile.write(head + (reply.body if self.command != "HEAD" else b""))
        except OSError:
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


class Served:
    """The lifecycle every simulator shares: listen on ``host:port`` (0 picks a free port), answer on a
    daemon thread through the subclass's ``_answer`` (and ``stats``), stop; usable as a context manager.
    Subclasses hook in with :meth:`_on_start` (the port is known, nothing is served yet) and :meth:`_on_stop`."""

    thread_name = "simulator"
    host: str
    _port: int
    stats: Stats
    _server: _Server | None = None
    _thread: threading.Thread | None = None

    def _answer(self, method: str, path: str, query: str, headers: Any, body: bytes) -> Reply:
        raise NotImplementedError

    def _on_start(self) -> None:
        """Called once the port is bound, before the first request is served."""

    def _on_stop(self) -> None:
        """Called after the server stopped."""

    def start(self) -> Self:
        if self._server is not None:
            return self
        server = _Server((self.host, self._port), self)
        self._server = server
        self._port = server.server_address[1]
        self._on_start()
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"{self.thread_name}:{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.drop_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._on_stop()

    def serve_forever(self) -> None:
        """Serve on the calling thread until interrupted (for the CLI)."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    @property
    def base_url(self) -> str:
        """Where the simulated API's requests go (a subclass's own root under :attr:`url`)."""
        raise NotImplementedError


class Simulator(Served):
    """A running intelliHR stand-in. ``port=0`` picks a free port; usable as a context manager."""

    thread_name = "intellihr-simulator"

    def __init__(
        self,
        people: int = 200,
        seed: int = 1,
        tenant: str = "demo",
        api_key: str = "sim-demo-key",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        today: date | None = None,
        cache_limit: int = DEFAULT_CACHE_LIMIT,
        employee_numbers: bool = True,
        future_types: bool = False,
    ) -> None:
        """``employee_numbers=False``: a tenant whose configuration hides employee numbers (null for
        everyone). ``future_types=True``: people also carry a custom field of a type the published spec
        does not know (``RATING``, an object value), to show how clients cope."""
        self.tenant = tenant
        self.seed = seed
        self.host = host
        self._port = port
        self.directory = Directory(
            people,
            seed,
            tenant,
            today=today,
            cache_limit=cache_limit,
            employee_numbers=employee_numbers,
            future_types=future_types,
        )
        self.faults = Faults()
        self.stats = Stats()
        self._api = PublicApi(self.directory, tenant, api_key)
        self.webhooks = WebhookHub()
        self.directory.listeners.append(self.webhooks.notify)
        self._admin = AdminApi(
            self.directory, self.faults, self.stats, {"tenant": tenant, "seed": seed, "generated": people},
            webhooks=self.webhooks,
        )

    def __repr__(self) -> str:  # the API key stays out of reprs and logs
        return f"Simulator(tenant={self.tenant!r}, people={self.directory.total}, url={self.url!r})"

    # --- lifecycle --------------------------------------------------------------------------------

    def _on_start(self) -> None:
        self._api.url = self.url
        self.webhooks.url = self.base_url
        self.webhooks.start()
        self._admin.info["baseUrl"] = self.base_url
        self.directory.set_link_base(self.base_url)

    def _on_stop(self) -> None:
        self.webhooks.stop()

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    # --- one request ------------------------------------------------------------------------------

    def _answer(self, method: str, path: str, query: str, headers: Any, body: bytes) -> Reply:
        if path == "/_sim" or path.startswith("/_sim/"):
            return self._admin.handle(method, path, body)
        firing = Firing.of(self.faults.match(path), _DIRECTORY_FAULTS)
        for rule in firing.own:
            if rule.kind == "same_page":
                query = _first_page(query)
            elif rule.kind == "grow" and rule.count:
                self.directory.grow(rule.count)
            elif rule.kind == "shrink" and rule.count:
                self.directory.shrink(rule.count)
        replacement = firing.replacement
        if replacement is not None:
            if replacement.kind == "rate_limit":
                return error_reply(
                    429,
                    "TooManyRequests",
                    "Rate limit exceeded, retry later",
                    headers=_retry_after_header(replacement.retry_after),
                )
            status = replacement.status or 500
            name, message = _REASONS[status]
            return error_reply(status, name, message, headers=_retry_after_header(replacement.retry_after))
        if path.rstrip("/") == "/v1/webhooks" or path.startswith("/v1/webhooks/"):
            reply = self._webhooks(method, path, query, headers, body)
        elif path == "/v1" or path.startswith("/v1/"):
            reply = self._api.handle(method, path, query, headers)
        else:
            reply = error_reply(404, "NotFound", f"No route matches {path}")
        return firing.spoil(reply)


    def _webhooks(self, method: str, path: str, query: str, headers: Any, body: bytes) -> Reply:
        """``/v1/webhooks[/{id}]``: routed and authenticated like the rest of the API, then the hub's."""
        parts = [p for p in path.split("/") if p]  # ["v1", "webhooks", id?]
        if len(parts) > 3:
            return error_reply(404, "NotFound", f"No route matches {path}")
        ident = parts[2] if len(parts) == 3 else None
        offered = ("DELETE", "GET", "PATCH") if ident is not None else ("GET", "POST")
        if method not in offered:
            return error_reply(405, "MethodNotAllowed", f"{method} is not allowed on {path}",
                               headers=[("Allow", ", ".join(offered))])
        denied = self._api._authenticate(headers)
        if denied is not None:
            return denied
        payload: Any = None
        if method in ("POST", "PATCH"):
            try:
                payload = json.loads(body) if body.strip() else None
            except ValueError:
                return bad_request("the body is not JSON")
            if payload is None:
                return bad_request("a JSON body is required")
        return self.webhooks.handle(method, ident, query, payload)


_BODY_FAULTS = frozenset({"runaway", "nested", "oversized", "not_json"})
_DIRECTORY_FAULTS = frozenset({"same_page", "grow", "shrink"})


@dataclass(slots=True)
class Firing:
    """The faults firing for one request, sorted: ``slow`` has slept already; ``replacement`` answers
    instead of the API (the first of rate_limit, server_error, refused); ``own`` are a simulator's own
    kinds (left to it); :meth:`spoil` applies ``truncated`` and the body faults to a successful answer."""

    replacement: FaultRule | None = None
    truncate: bool = False
    body_faults: list[FaultRule] = field(default_factory=list)
    own: list[FaultRule] = field(default_factory=list)

    @classmethod
    def of(cls, rules: list[FaultRule], own_kinds: frozenset[str] = frozenset()) -> Firing:
        firing = cls()
        for rule in rules:
            if rule.kind in _BODY_FAULTS:
                firing.body_faults.append(rule)
            elif rule.kind in own_kinds:
                firing.own.append(rule)
            elif rule.kind == "slow":
                if rule.delay:
                    time.sleep(rule.delay)
            elif rule.kind == "truncated":
                firing.truncate = True
            elif firing.replacement is None:
                firing.replacement = rule
        return firing

    def spoil(self, reply: Reply) -> Reply:
        if self.truncate and reply.status == 200:
            reply = Reply(reply.status, _truncate(reply.body), reply.headers)
        for rule in self.body_faults:
            if reply.status == 200:
                reply = _misbehave(rule, reply)
        return reply
_NOT_JSON = b"<!doctype html><html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"


def _first_page(query: str) -> str:
    """The same query, asking for page 1."""
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "page"]
    return urlencode([*pairs, ("page", "1")])


def _misbehave(rule: FaultRule, reply: Reply) -> Reply:
    """Apply a body fault (see :mod:`.faults`) to a successful answer."""
    count = rule.count or 0
    if rule.kind == "nested":
        return Reply(200, b'{"data":' + b"[" * count + b"]" * count + b"}", reply.headers)
    if rule.kind == "oversized":
        return Reply(200, reply.body + b" " * max(0, count - len(reply.body)), reply.headers)
    if rule.kind == "not_json":
        return Reply(200, _NOT_JSON, [*reply.headers, ("Content-Type", "text/html; charset=utf-8")])
    # runaway: the list claims `count` more records with every request it answers
    try:
        body = json.loads(reply.body)
        pagination = body["meta"]["pagination"]
    except (ValueError, KeyError, TypeError):
        return reply
    pagination["total"] += count * rule.fired
    per_page = max(1, int(pagination.get("per_page") or 1))
    pagination["total_pages"] = max(1, -(-pagination["total"] // per_page))
    return Reply(200, dumps(body), reply.headers)
