"""Bounded reads through the CLI: an HR API that never stops paging, repeats itself, answers enormous,
absurdly nested or non-JSON bodies, or is too slow in all fails the import with a one-line reason,
changes no member and leaves the integration free for the next import.

One installation walks through every failure family in turn (a process start per import is the
expensive part): each failing import could only start because the one before it freed the slot.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from hrsync.sources.intellihr.client import MAX_RESPONSE_BYTES
from hrsync.store.db import session_scope
from hrsync.store.models import ImportRun, Member

if TYPE_CHECKING:
    from conftest import Install


def _runaway(install: Install) -> None:
    install.sim.faults.add("runaway", times=None, count=100)


def _same_page(install: Install) -> None:
    install.sim.faults.add("same_page", times=None)


def _nested(install: Install) -> None:
    install.sim.faults.add("nested", times=None, after=1)


def _not_json(install: Install) -> None:
    install.sim.faults.add("not_json", times=None, after=1)


def _oversized(install: Install) -> None:
    install.sim.faults.add("oversized", times=None, after=1, count=MAX_RESPONSE_BYTES + 1024 * 1024)


def _too_slow(install: Install) -> None:
    # Every page after the first takes 30 s: within one attempt's 30 s request timeout, so only the
    # one-second read deadline (set in the environment, as an operator would) stops the read.
    install.env["HRSYNC_IMPORT_READ_DEADLINE"] = "1"
    install.sim.faults.add("slow", times=None, after=1, delay=30)


FAMILIES: list[tuple[str, Callable[[Install], None], str]] = [
    ("runaway paging", _runaway, "kept getting longer"),
    ("the same page again and again", _same_page, "already sent"),
    ("deeply nested JSON", _nested, "nested far deeper"),
    ("not JSON", _not_json, "did not answer like intelliHR"),
    ("an oversized answer", _oversized, "larger than 32 MiB"),
    ("the read deadline", _too_slow, "took longer than the 1 second"),
]


def _members() -> list[tuple[Any, ...]]:
    with session_scope() as session:
        rows = session.execute(
            select(
                Member.id, Member.employee_id, Member.email, Member.status, Member.first_name,
                Member.last_name, Member.attributes, Member.updated_at, Member.leaver_since,
            ).order_by(Member.id)
        )
        return [tuple(row) for row in rows]


def _run(run_id: int) -> ImportRun:
    with session_scope() as session:
        run = session.get(ImportRun, run_id)
        assert run is not None
        session.expunge(run)
        return run


def test_every_misbehaviour_of_the_hr_api_fails_the_import_cleanly_and_frees_the_integration(
    install: Install,
) -> None:
    integration = install.setup_integration()
    first = install.cli_json("import", str(integration))
    assert first["status"] in ("succeeded", "succeeded_with_errors")
    directory = install.sim.directory
    leaver = next(p for p in directory.people() if p["employmentStatus"] == "Current Staff")
    directory.terminate(leaver["id"])  # from now on, a successful import would change a member
    before = _members()
    assert before

    for family, arm, expected in FAMILIES:
        arm(install)
        proc = install.cli("import", str(integration), "--json")
        assert proc.returncode == 1, (family, proc.stdout, proc.stderr)
        stderr = proc.stderr.strip()
        assert len(stderr.splitlines()) == 1 and expected in stderr, (family, stderr)
        run = _run(int(json.loads(proc.stdout)["id"]))  # the JSON document on stdout names the run
        assert run.status == "failed", family
        assert run.reason is not None and expected in run.reason and "\n" not in run.reason, family
        assert stderr.startswith(f"hrsync: failed ({run.failure_code}): {run.reason} — "), family  # then advice
        assert _members() == before, f"{family}: a failed read changes no member"
        install.sim.faults.clear()
        install.env.pop("HRSYNC_IMPORT_READ_DEADLINE", None)

    after = install.cli_json("import", str(integration))  # the slot is free again
    assert after["status"] in ("succeeded", "succeeded_with_errors")
    assert after["leavers"] == 1
