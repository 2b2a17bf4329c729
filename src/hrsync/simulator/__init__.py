"""A faithful stand-in for the intelliHR Public API v1, for the demo, the tests and the benchmarks.

    from hrsync.simulator import Simulator
    with Simulator(people=200, seed=1) as sim:
        sim.base_url          # http://127.0.0.1:<port>/v1
        sim.directory.hire(first_name="Ana", last_name="López", email="ana@example.com")
        sim.faults.add("rate_limit", times=2, retry_after=1)

Answers are checked by the tests against the published spec, vendored in
``tests/data/intellihr/intellihr-public-api-v1.json``.
"""

from hrsync.simulator.directory import Directory
from hrsync.simulator.faults import FAULT_KINDS, FaultRule, Faults, Stats
from hrsync.simulator.filters import FilterError
from hrsync.simulator.generator import BAD_KINDS
from hrsync.simulator.model import EMPLOYMENT_STATUSES
from hrsync.simulator.server import Simulator

__all__ = [
    "BAD_KINDS",
    "EMPLOYMENT_STATUSES",
    "FAULT_KINDS",
    "Directory",
    "FaultRule",
    "Faults",
    "FilterError",
    "Simulator",
    "Stats",
]
