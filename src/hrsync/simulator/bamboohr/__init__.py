"""A stand-in for BambooHR's REST API, built from its published documentation (see docs/bamboohr.md),
for the demo, the tests and the benchmarks.

    from hrsync.simulator.bamboohr import BambooSimulator
    with BambooSimulator(people=200, seed=1, company="acme", api_key="k") as sim:
        sim.company_url   # http://127.0.0.1:<port>/api/gateway.php/acme/v1

Answers are checked by the tests against the part of BambooHR's OpenAPI document they use, vendored in
``tests/data/bamboohr/``.
"""

from hrsync.simulator.bamboohr.company import BAD_RECORDS, Company, Employee
from hrsync.simulator.bamboohr.fields import ALL_FIELDS, CUSTOM_FIELDS, FieldDef
from hrsync.simulator.bamboohr.server import FAULT_KINDS, BambooSimulator

__all__ = ["ALL_FIELDS", "BAD_RECORDS", "CUSTOM_FIELDS", "FAULT_KINDS", "BambooSimulator", "Company", "Employee",
           "FieldDef"]
