"""Reading a paged REST list (:mod:`.envelope` pages) so that each record is handed out exactly once.

Offset paging over a directory that changes while it is read duplicates records (someone joined
before the offset) or skips them (someone left before it). Three rules make the stream exact:

* every record is handed out at most once (de-duplicated by ``id`` across the whole read);
* a *pass* (page 1 to the last page) is trusted only if every page reported the same ``total`` and
  the pass saw exactly ``total`` distinct ids; otherwise the list is read again, handing out only
  the records not seen yet, so nobody present at the end is missed;
* after a few unstable passes the read fails instead of returning something incomplete.

Once page 1 has told ``total_pages``, the other pages are fetched by a small thread pool with a
bounded window, so memory stays flat however slow the consumer is.

Bounds, so that a misbehaving server cannot keep an import reading forever:

* **Page cap.** The directory may grow a little while it is read, so the list may end past the page
  the first page announced, but not far past: the read may go up to ``total_pages`` of the very
  first page plus 25 % plus 5 pages (:func:`page_cap`; 2 pages → 8, 1,000 pages → 1,255). A page
  announcing more pages than that, or a request beyond it, stops the read (``runaway_paging``).
* **Repeated pages.** Shifts duplicate a few people between neighbouring pages, never a whole
  page: a non-empty page whose people were *all* handed out earlier in the same pass is a server
  serving the same page again. The third such page in one read stops it (``repeating_pages``).
* **Deadline.** Waiting for a page never outlasts the read's :class:`~.budget.Deadline`
  (``read_deadline``); requests clip their own timeouts to it as well.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from hrsync.sources.base import SourceError
from hrsync.sources.rest.budget import Deadline
from hrsync.sources.rest.envelope import Page

MAX_PASSES = 5
PAGE_MARGIN_SHARE = 0.25
PAGE_MARGIN_PAGES = 5
MAX_REPEATED_PAGES = 3


def page_cap(first_total_pages: int) -> int:
    """The last page a read may request, from what its first page announced (see the module doc)."""
    return first_total_pages + math.ceil(first_total_pages * PAGE_MARGIN_SHARE) + PAGE_MARGIN_PAGES


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
    deadline: Deadline | None = None,
    service: str = "the source",
) -> Iterator[Batch]:
    """Yield batches of never-before-seen records until a whole pass was stable.

    ``service`` names the system read in the errors ("<service> kept sending pages ...")."""
    deadline = deadline or Deadline(None, service=service)
    seen: set[str] = set()
    cap: int | None = None
    repeated_pages = 0
    for _ in range(max_passes):
        first = _wait(executor.submit(fetch, 1), deadline)
        if cap is None:
            cap = page_cap(first.total_pages)
        _check_cap(first, cap, what, service)
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
                page = _wait(pending.popleft(), deadline)
                _check_cap(page, cap, what, service)
                totals.add(page.total)
                last_total = page.total
                # The list grew while we read: its new last pages belong to this pass too.
                last_page = max(last_page, page.total_pages)
                if page.items and all(item["id"] in in_pass for item in page.items):
                    repeated_pages += 1
                    if repeated_pages >= MAX_REPEATED_PAGES:
                        raise SourceError(
                            f"{service} kept sending pages of {what} it had already sent "
                            f"({repeated_pages} pages); the import stopped without changing anything, "
                            "try again later",
                            code="repeating_pages",
                        )
                yield Batch(_fresh(page.items, seen, in_pass), last_total)
        finally:
            for future in pending:
                future.cancel()

        if len(totals) == 1 and len(in_pass) == last_total:
            return
    raise SourceError(
        f"{service}'s list of {what} kept changing while it was read ({max_passes} passes); "
        "nothing was imported, try again in a few minutes",
        code="unstable_directory",
    )


def _wait(future: Future[Page], deadline: Deadline) -> Page:
    try:
        return future.result(timeout=deadline.left() if deadline.seconds is not None else None)
    except TimeoutError:
        future.cancel()
        raise deadline.error() from None


def _check_cap(page: Page, cap: int, what: str, service: str) -> None:
    if page.total_pages > cap:
        raise SourceError(
            f"{service}'s list of {what} kept getting longer while it was read (now {page.total_pages} pages, "
            f"more than the {cap} this import allows); the import stopped without changing anything, "
            "try again later",
            code="runaway_paging",
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
