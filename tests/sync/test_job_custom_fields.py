"""A job custom field, mapped through the CLI as job.custom.<apiName>, lands on members."""

from __future__ import annotations

import subprocess

from .conftest import HRSYNC, Install


def test_a_job_custom_field_lands_on_members(install: Install) -> None:
    integration = install.setup_integration(
        "--map", "custom.shift=job.custom.shiftPattern", "--map", "custom.cost_code=job.custom.jobCostCode"
    )
    result = install.cli_json("import", str(integration))
    proc = subprocess.run(
        [HRSYNC, "run", "errors", str(result["id"]), "--warnings"], env=install.env, capture_output=True, text=True
    )
    assert proc.returncode == 0 and "custom." not in proc.stdout, proc.stdout  # no job custom field was unreadable
    members = install.members()
    people = {p["employeeNumber"]: p for p in install.sim.directory.people() if p["employeeNumber"] in members}
    jobs = {}
    for person in people.values():
        primary = [j for j in person["jobs"] if j["isPrimaryJob"]]
        if primary:
            job = install.sim.directory.job(primary[0]["id"])
            if job is not None:
                jobs[person["employeeNumber"]] = job
    assert len(jobs) > 50
    landed = 0
    for number, job in jobs.items():
        attributes = members[number]["attributes"]
        shift = job["customFields"]["shiftPattern"]["value"]
        cost = job["customFields"]["jobCostCode"]["value"]
        assert attributes.get("custom.shift") == (shift and shift["label"]), number
        assert attributes.get("custom.cost_code") == cost, number
        landed += shift is not None
    assert landed > 50
