"""Normalising only the mapped fields gives exactly the values a full normalisation gives."""

from __future__ import annotations

from hrsync.simulator import Simulator
from hrsync.sources.intellihr import IntelliHRSource
from hrsync.sources.intellihr.normalise import StatusMapper, normalise_person


def test_wanted_fields_are_the_same_values_as_a_full_normalisation() -> None:
    with Simulator(people=120, seed=5, tenant="acme", api_key="k-wanted", port=0) as sim:
        people = sim.directory.people()
        with IntelliHRSource("acme", "k-wanted", base_url=sim.base_url) as source:
            every_key = [f.key for f in source.fields() if not f.needs_job_details]
    lifecycle = StatusMapper(None)
    subsets = [frozenset(every_key), frozenset({"employeeNumber", "primaryEmailAddress", "firstName"}),
               frozenset(k for k in every_key if k.startswith(("custom.", "address.", "job.")))]
    assert any(k.startswith("custom.") for k in subsets[2]) and any(k.startswith("address.") for k in subsets[2])
    for raw in people:
        full = normalise_person(raw, lifecycle)
        for wanted in subsets:
            part = normalise_person(raw, lifecycle, None, wanted)
            assert part.values == {k: v for k, v in full.values.items() if k in wanted}, (raw["id"], wanted)
            assert (part.lifecycle, part.job_start_date, part.job_end_date, part.extras) == (
                full.lifecycle, full.job_start_date, full.job_end_date, full.extras)


def test_people_stream_carries_only_the_fields_asked_for() -> None:
    with Simulator(people=60, seed=5, tenant="acme", api_key="k-wanted", port=0) as sim, \
            IntelliHRSource("acme", "k-wanted", base_url=sim.base_url) as source:
        streamed = list(source.people(fields={"employeeNumber", "primaryEmailAddress"}))
    assert len(streamed) == 60
    assert all(set(p.values) == {"employeeNumber", "primaryEmailAddress"} for p in streamed)
