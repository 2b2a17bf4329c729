"""What a read keeps (issue 27): a 100,000-person first import holds every new person's draft until the
apply, so each value many people share (an employment status, a start date, a first name) is kept once
for the whole read (:class:`hrsync.domain.records.ValuePool`), not once per decoded page."""

from __future__ import annotations

from collections import Counter, defaultdict

from tests.sync.conftest import Install, database_url, install

from hrsync.store.db import session_factory, session_scope
from hrsync.sync.context import RunContext
from hrsync.sync.execute import read_and_plan
from hrsync.sync.runs import request_run

__all__ = ["database_url", "install"]


def test_a_reads_drafts_keep_one_copy_of_each_repeated_value(install: Install) -> None:
    integration = install.setup_integration()
    with session_scope() as session:
        run_id = request_run(session, integration, trigger="cli").id
    with session_scope() as session:
        context = RunContext.load(session, run_id)
    source = context.open_source()
    try:  # the first import's read: every active person drafted in full
        drafts = read_and_plan(session_factory(), context, source).read.drafts
    finally:
        source.close()
    copies: dict[tuple[str, object], set[int]] = defaultdict(set)  # (field, value) → its objects
    seen: Counter[tuple[str, object]] = Counter()  # (field, value) → how many drafts hold it
    for draft in drafts:
        held = [("employment_status", draft.employment_status), ("start_date", draft.start_date),
                *draft.values.items()]
        for field, value in held:
            if value is not None:
                copies[field, value].add(id(value))
                seen[field, value] += 1
    repeated = [key for key, times in seen.items() if times > 1]
    assert len(drafts) > 100 and len(repeated) > 10  # the simulator's directory repeats statuses, dates, names
    assert {key: len(copies[key]) for key in repeated} == dict.fromkeys(repeated, 1)
