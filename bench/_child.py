"""One measured step in its own process, so its peak memory is its own: prints one JSON line.

    python -m bench._child fetch-floor BASE_URL TENANT KEY CONCURRENCY FIELDS_JSON
    python -m bench._child write-floor DATABASE_URL N
    python -m bench._child import INTEGRATION_ID        (settings from HRSYNC_* variables)
"""

from __future__ import annotations

import json
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any


def _peak_mb() -> float:
    """This process's own peak RSS (VmHWM). Not ``ru_maxrss``: Linux carries that over from the
    pre-exec copy of the parent, here the benchmark driver with its simulator."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fetch_floor(base_url: str, tenant: str, key: str, concurrency: int, fields: list[str]) -> dict[str, Any]:
    """Merely page through /people with limit=100, as many pages at once as the connector uses,
    with the connector's HTTP client (httpx) and decoder (msgspec, keeping only what the mapping's
    ``fields`` read; a page it refuses is read with json.loads, as the connector does): the least
    any reader of this API has to do."""
    import httpx

    from hrsync.sources.intellihr.decode import UNDECODED, people_decoder

    decode = people_decoder(fields)
    headers = {"Authorization": f"Bearer {key}", "Tenant": tenant}
    start = time.perf_counter()
    with httpx.Client(base_url=base_url, headers=headers, timeout=60,
                      limits=httpx.Limits(max_connections=concurrency)) as client:

        def page(number: int) -> Any:  # the connector's query: the same pages of the simulator's cache
            content = client.get("/people", params={"page": number, "limit": 100, "sort": "createdAt"}).content
            body = decode(content)
            return json.loads(content) if body is UNDECODED else body

        first = page(1)
        pages = first["meta"]["pagination"]["total_pages"]
        count = len(first["data"])
        with ThreadPoolExecutor(concurrency) as pool:
            count += sum(len(body["data"]) for body in pool.map(page, range(2, pages + 1)))
    return {"seconds": time.perf_counter() - start, "people": count, "peak_mb": _peak_mb()}


def write_floor(database_url: str, n: int) -> dict[str, Any]:
    """Insert n member rows in bulk, in one transaction, into a fresh store: the least any import
    into this database has to do, written the way the runner writes new members (COPY on
    PostgreSQL, a Core executemany on SQLite: hrsync.store.bulk)."""
    from hrsync.store.bulk import insert_rows
    from hrsync.store.db import session_scope, upgrade
    from hrsync.store.models import Member, Programme
    from hrsync.store.types import utcnow

    upgrade(database_url)
    with session_scope(database_url) as session:
        programme = Programme(name="floor")
        session.add(programme)
        session.flush()
        pid = programme.id
    now = utcnow()
    rows = [
        {
            "programme_id": pid, "employee_id": f"E{i:07d}", "email": f"person{i}@example.com",
            "email_lower": f"person{i}@example.com", "first_name": "Given", "last_name": "Family",
            "status": "invited", "employment_status": "Current Staff", "source_id": f"src-{i}",
            "start_date": date(2024, 1, 1), "attributes": {}, "created_at": now, "updated_at": now,
        }
        for i in range(n)
    ]
    start = time.perf_counter()
    with session_scope(database_url) as session:
        insert_rows(session, Member.__table__, rows)  # as the runner inserts new members
    return {"seconds": time.perf_counter() - start, "rows": n, "peak_mb": _peak_mb()}


def run_import(integration_id: int) -> dict[str, Any]:
    import hrsync.sources.intellihr  # noqa: F401 - loaded before the clock, as in a long-running worker
    from hrsync.store.db import session_scope
    from hrsync.sync.execute import execute_run
    from hrsync.sync.runs import request_run

    start, cpu = time.perf_counter(), time.process_time()
    with session_scope() as session:
        run_id = request_run(session, integration_id, trigger="cli").id
    outcome = execute_run(run_id)
    seconds = time.perf_counter() - start
    assert outcome is not None
    # CPU of this process, every thread (the pager's HTTP and decoding included), not the simulator's.
    return {"seconds": seconds, "cpu_seconds": time.process_time() - cpu, "outcome": outcome.to_json(),
            "peak_mb": _peak_mb()}


def main(argv: list[str]) -> None:
    kind, *args = argv
    if kind == "fetch-floor":
        result = fetch_floor(args[0], args[1], args[2], int(args[3]), json.loads(args[4]))
    elif kind == "write-floor":
        result = write_floor(args[0], int(args[1]))
    elif kind == "import":
        result = run_import(int(args[0]))
    else:
        raise SystemExit(f"unknown step {kind}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
