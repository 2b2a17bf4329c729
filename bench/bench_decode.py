"""Decoding pages of people: json.loads, orjson (when installed), msgspec untyped and typed (decision 0021).

    .venv/bin/python -m bench.bench_decode [--people 1000]

Pages of the simulator (limit=100, as the connector asks), decoded over and over; the best of 30
rounds, in µs per person. orjson is no dependency: ``pip install orjson`` to include it.
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import httpx
import msgspec

from hrsync.simulator import Simulator
from hrsync.sources.intellihr.decode import people_decoder
from hrsync.sources.intellihr.normalise import StatusMapper, normalise_person
from hrsync.sources.rest.envelope import read_list_page

DEFAULT = frozenset({"employeeNumber", "primaryEmailAddress", "firstName", "lastName"})
MORE = DEFAULT | {"job.startDate", "custom.costCentre", "address.country"}


def _pages(people: int) -> list[bytes]:
    with Simulator(people=people, seed=42, tenant="t", api_key="k", port=0) as sim:
        headers = {"Authorization": "Bearer k", "Tenant": "t"}
        return [httpx.get(f"{sim.base_url}/people", headers=headers,
                          params={"page": n, "limit": 100, "sort": "createdAt"}).content
                for n in range(1, people // 100 + 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1000)
    args = parser.parse_args()
    pages = _pages(args.people)
    people = args.people
    print(f"{len(pages)} pages, {sum(map(len, pages)) // len(pages):,} bytes a page")
    mapper = StatusMapper(None)

    def per_person(decode: Callable[[bytes], Any]) -> float:
        best = float("inf")
        for _ in range(30):
            start = time.perf_counter()
            for page in pages:
                decode(page)
            best = min(best, time.perf_counter() - start)
        return best / people * 1e6

    def with_normalise(decode: Callable[[bytes], Any], wanted: frozenset[str] | None) -> Callable[[bytes], Any]:
        def run(content: bytes) -> None:
            for raw in read_list_page(decode(content), "bench").items:
                normalise_person(raw, mapper, None, wanted)
        return run

    decoders: dict[str, Callable[[bytes], Any]] = {"json.loads": json.loads}
    try:
        import orjson

        decoders["orjson"] = orjson.loads
    except ImportError:
        pass
    decoders["msgspec untyped"] = msgspec.json.Decoder().decode
    rows = [(name, per_person(decode)) for name, decode in decoders.items()]
    rows += [(f"msgspec typed, {label}", per_person(people_decoder(wanted)))
             for label, wanted in (("4 default fields", DEFAULT), ("7 fields", MORE), ("every field", None))]
    for label, wanted in (("4 default fields", DEFAULT), ("7 fields", MORE), ("every field", None)):
        for name, decode in [*decoders.items(), ("msgspec typed", people_decoder(wanted))]:
            if name != "msgspec untyped":
                rows.append((f"{name} + envelope + normalise, {label}", per_person(with_normalise(decode, wanted))))
    for name, micros in rows:
        print(f"{name:60s} {micros:6.1f} µs/person")
    for name, decode in [*decoders.items(), ("msgspec typed, 4 default fields", people_decoder(DEFAULT))]:
        tracemalloc.start()
        kept = [decode(page) for page in pages]
        size, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del kept
        print(f"{name:60s} {size / people / 1000:6.2f} KB kept a person")


if __name__ == "__main__":
    main()
