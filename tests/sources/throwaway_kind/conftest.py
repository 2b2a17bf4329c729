"""The throwaway kind is registered aside (a test-only register call), for the tests of this folder only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.sources.throwaway_kind.kind import KIND
from tests.web.conftest import Portal, start_portal
from tests.web.conftest import browser as browser  # the Chromium fixture, for this folder's browser test


@pytest.fixture(autouse=True)
def throwaway_kind() -> Iterator[None]:
    from hrsync.sources import registry

    registry.register(KIND)
    try:
        yield
    finally:
        registry.unregister(KIND.kind)


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    yield from start_portal(tmp_path_factory)
