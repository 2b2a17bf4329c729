"""Many simulated intelliHR tenants behind one address, as one deployment's workers see them.

hrsync reads every intelliHR account at the same base URL (``HRSYNC_INTELLIHR_BASE_URL``) and names
the account in the ``tenant`` header, so a fleet needs one server answering for thousands of
tenants. Each tenant is the simulator's own :class:`PublicApi` over a :class:`Directory`; small
tenants share a handful of directories (a directory of a few hundred people is the same work to
serve whoever asks for it, and 2,000 separate ones would only cost the benchmark memory).

Some tenants misbehave as real HR systems do: *slow* ones answer every request after a delay,
*throttled* ones answer every third request of each read with 429 and ``Retry-After: 1`` (a
request for the first page starts a read).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any
from urllib.parse import parse_qs

from hrsync.simulator.api import PublicApi, Reply, error_reply
from hrsync.simulator.directory import Directory
from hrsync.simulator.faults import Stats
from hrsync.simulator.server import Served

SLOW_DELAY = 0.25  # seconds added to every answer of a slow tenant
THROTTLE_EVERY = 3  # a throttled tenant refuses every third request


class FleetSimulator(Served):
    thread_name = "fleet-simulator"

    def __init__(self, api_key: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._port = port
        self.api_key = api_key
        self.stats = Stats()
        self.apis: dict[str, PublicApi] = {}
        self.directories: list[Directory] = []
        self.slow: set[str] = set()
        self.throttled: set[str] = set()
        self.behaviours: dict[str, str] = {}
        self.misbehaving = False  # switched on after setup (see :meth:`misbehave`)
        self.throttled_answers = 0
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def directory(self, people: int, seed: int) -> Directory:
        made = Directory(people, seed, f"fleet{seed}")
        self.directories.append(made)
        return made

    def add_tenant(self, tenant: str, directory: Directory, behaviour: str = "normal") -> None:
        self.apis[tenant.lower()] = PublicApi(directory, tenant, self.api_key)
        self.behaviours[tenant.lower()] = behaviour

    def misbehave(self) -> None:
        """Slow and throttled tenants start misbehaving (not while the benchmark sets up their integrations)."""
        self.slow = {t for t, b in self.behaviours.items() if b == "slow"}
        self.throttled = {t for t, b in self.behaviours.items() if b == "throttled"}

    def _on_start(self) -> None:
        for api in self.apis.values():
            api.url = self.url
        for directory in self.directories:
            directory.set_link_base(self.base_url)

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def _answer(self, method: str, path: str, query: str, headers: Any, body: bytes) -> Reply:
        tenant = (headers.get("tenant") or "").strip().lower()
        api = self.apis.get(tenant)
        if api is None:
            return error_reply(403, "Forbidden", f"Tenant '{tenant}' was not found")
        if tenant in self.slow:
            time.sleep(SLOW_DELAY)
        if tenant in self.throttled:
            with self._lock:
                # Counted per read (a request for the first page starts one), so every read of a sitting meets
                # the same refusals. Counted over the whole benchmark instead, a read of four requests met one
                # refusal in two sittings of three and two in every third, and the third sitting (always "with
                # large") held the throttled imports' slots a second longer each (issue 27, BENCHMARKS.md).
                if _page(query) == 1:
                    self._seen[tenant] = 0
                self._seen[tenant] += 1
                refuse = self._seen[tenant] % THROTTLE_EVERY == 0
                self.throttled_answers += refuse
            if refuse:
                return error_reply(429, "TooManyRequests", "Rate limit exceeded, retry later",
                                   headers=[("Retry-After", "1")])
        return api.handle(method, path, query, headers)


def _page(query: str) -> int:
    """The page a list request asks for (1 when it names none, or none that reads as a number)."""
    values = parse_qs(query).get("page", ["1"])
    return int(values[0]) if values[0].isdigit() else 1
