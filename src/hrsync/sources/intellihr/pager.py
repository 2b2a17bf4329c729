"""Reading a paged intelliHR list so that each record is handed out exactly once.

Offset paging over a directory that changes while it is read duplicates records (someone joined
before the offset) or skips them (someone left before it). Three rules make the stream exact:

* every record is handed out at most once (de-duplicated by ``id`` across the whole read);
* a *pass* (page 1 to the last page) is trusted only if every page reported the same ``total`` and
  the pass saw exactly ``total`` distinct ids; otherwise the list is read again, handing out only
  the records not seen yet, so nobody present at the end is missed;
* after a few unstable passes the read fails instead of returning something incomplete.

Once page 1 has told ``total_pages``, the other pages are fetched by a small thread pool with a
bounded window, so memory stays flat however slow the consumer is.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from hrsync.sources.base import SourceError
from hrsync.sources.intellihr.envelope import Page

MAX_PASSES = 5


@dataclass(frozen=True, slots=True)
class Batch:
    """New records from one page, and the list's size as last reported."""

    items: list[dict[str, Any]]
    total: int


def read_exactly_once(
    fetch: Callable[[int], Page],
    *,
    executor: ThreadPoolExecutor,
    window: int,
    what: str = "records",
    max_passes: int = MAX_PASSES,
) -> Iterator[Batch]:
    """Yield batches of never-before-seen records until a whole pass was stable."""
    seen: set[str] = set()
    for _ in range(max_passes):
        first = fetch(1)
        totals = {first.total}
        in_pass: set[str] = set()
        last_total = first.total
        yield Batch(_fresh(first.items, seen, in_pass), last_total)

        last_page = first.total_pages
        next_page = 2
        pending: deque[Future[Page]] = deque()
        try:
            while True:
                while next_page <= last_page and len(pending) < window:
                    pending.append(executor.submit(fetch, next_page))
                    next_page += 1
                if not pending:
                    break
                page = pending.popleft().result()
                totals.add(page.total)
                last_total = page.total
                # The list grew while we read: its new last pages belong to this pass too.
                last_page = max(last_page, page.total_pages)
                yield Batch(_fresh(page.items, seen, in_pass), last_total)
        finally:
            for future in pending:
                future.cancel()

        if len(totals) == 1 and len(in_pass) == last_total:
            return
    raise SourceError(
        f"intelliHR's list of {what} kept changing while it was read ({max_passes} passes); "
        "nothing was imported, try again in a few minutes",
        code="unstable_directory",
    )


def _fresh(items: list[dict[str, Any]], seen: set[str], in_pass: set[str]) -> list[dict[str, Any]]:
    fresh = []
    for item in items:
        item_id = item["id"]
        in_pass.add(item_id)
        if item_id not in seen:
            seen.add(item_id)
            fresh.append(item)
    return fresh
