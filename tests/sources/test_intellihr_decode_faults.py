"""Through the connector: bodies the fast decoder refuses are judged by the general decoder, as before.

A page with ``NaN`` where no mapping looks is still read (``json.loads`` accepts it); a page with bytes
that are not UTF-8 where no mapping looks is still malformed (retried, then a clean error), although
msgspec alone would have skipped over them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hrsync.sources.base import SourceError
from hrsync.sources.intellihr import IntelliHRSource

from .conftest import KEY, TENANT

PAGE = (b'{"data":[{"id":"p1","employmentStatus":"Current Staff","firstName":"Ana","lastName":"Lima",'
        b'"employeeNumber":"E1","workRights":{"score":%s}}],'
        b'"meta":{"pagination":{"total":1,"count":1,"total_pages":1}}}')
FIELDS = {"employeeNumber", "firstName", "lastName"}


def test_nan_in_a_key_nobody_reads_is_read_as_before(impostor: Callable[..., str]) -> None:
    base_url = impostor(body=PAGE % b"NaN", content_type="application/json")
    with IntelliHRSource(TENANT, KEY, base_url=base_url) as source:
        [person] = list(source.people(fields=FIELDS))
    assert person.source_id == "p1"
    assert dict(person.values) == {"employeeNumber": "E1", "firstName": "Ana", "lastName": "Lima"}


def test_bytes_that_are_not_utf8_in_a_key_nobody_reads_are_still_malformed(impostor: Callable[..., str]) -> None:
    base_url = impostor(body=PAGE % b'"\xff\xfe"', content_type="application/json")
    with IntelliHRSource(TENANT, KEY, base_url=base_url, concurrency=1) as source:
        with pytest.raises(SourceError) as err:
            list(source.people(fields=FIELDS))
    assert err.value.code == "malformed_response"
    assert err.value.request == "GET /people page 1"
    assert "3 times in a row" in err.value.reason


def test_a_well_formed_page_from_the_same_server_is_read(impostor: Callable[..., str]) -> None:
    base_url = impostor(body=PAGE % b"[1, 2.5, null]", content_type="application/json")
    with IntelliHRSource(TENANT, KEY, base_url=base_url) as source:
        assert [p.values["lastName"] for p in source.people(fields=FIELDS)] == ["Lima"]
