"""The fast page decoder (msgspec, only the keys an import reads) against the general one (``json.loads``).

Pages of people are generated within what the published spec allows (most person properties are
untyped there, so any JSON value), odd ones included: nulls, missing keys, blank and non-Latin text,
numbers where text belongs, every published custom field shape and unknown ones, keys hrsync never
reads. For every wanted set of source fields, each record must give exactly the ``SourcePerson``
(compared by ``repr`` too, so ``1`` is not ``True`` is not ``1.0``) and each page exactly the envelope
outcome the general decoder gives. The general decoder is no test fixture: the client still reads
every other answer with it, and any page the fast decoder refuses.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hrsync.sources.base import SourceError
from hrsync.sources.intellihr.decode import UNDECODED, people_decoder
from hrsync.sources.intellihr.normalise import StatusMapper, normalise_person
from hrsync.sources.rest.client import _loads
from hrsync.sources.rest.envelope import read_list_page

from .test_intellihr_custom_field_properties import from_schema, value_schemas

MAPPER = StatusMapper(None)
REQUEST = "GET /people page 1"

# -- JSON values -------------------------------------------------------------------------------------

ODD_TEXT = ["", " ", "\t\n", "\u00a0", "Zoë", "李小龍", "Ngọc Hoàng", "😀", "O'Brien", 'say "hi"', "a\\b",
            "2024-02-30", "1990-07-04T10:00:00+10:00", "1990-07-04 22:30:00+00:00", "04/07/1990", "\u0000"]
text = st.one_of(st.text(max_size=12), st.sampled_from(ODD_TEXT))
scalar = st.one_of(
    st.none(), st.booleans(), text,
    st.integers(min_value=-(2**70), max_value=2**70),  # beyond 64 bits too
    st.floats(allow_nan=False, allow_infinity=False),  # JSON has neither
)
any_json = st.recursive(
    scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3), max_leaves=6
)
value = st.one_of(text, scalar, any_json)


def some_of(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """An object with any of these keys (each may be missing), and now and then a key nobody reads."""
    return st.fixed_dictionaries({}, optional={**fields, "unreadKey": any_json})


def or_odd(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The expected shape usually, any JSON value sometimes."""
    return st.one_of(strategy, strategy, any_json)


ONE_IN_TEN = st.sampled_from([False] * 9 + [True])  # hypothesis favours the first: True stays rare


def mostly(strategy: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``strategy`` nine times in ten: for what decides whether a record is read at all."""
    return ONE_IN_TEN.flatmap(lambda rare: odd if rare else strategy)


# -- a person record ---------------------------------------------------------------------------------

dates = st.one_of(st.dates().map(str), st.datetimes().map(lambda d: d.isoformat() + "+00:00"), value)
email = or_odd(some_of({"email": value, "isPersonal": any_json}))
phone = or_odd(some_of({"number": value, "fullNumber": value, "isPersonal": any_json}))
address = or_odd(some_of({
    "addressType": value, "fullAddress": value, "street": value, "suburb": value, "state": value,
    "postcode": value, "country": value, "isPrimary": or_odd(st.booleans()), "customFields": any_json,
}))
job = or_odd(some_of({
    "id": or_odd(st.uuids().map(str)), "name": value, "startDate": dates, "endDate": dates,
    "jobStatus": or_odd(st.sampled_from(["Current Job", "Ending Job", "Future Job", "Past Job", "On Leave"])),
    "isPrimaryJob": or_odd(st.booleans()), "isOnExtendedLeave": any_json, "link": text,
}))
CUSTOM_TYPES = ["TEXT", "NUMBER", "DATE", "SINGLE_SELECT", "MULTI_SELECT", "PEOPLE_DROPDOWN", "RATING"]
custom_value = st.one_of(*(from_schema(schema) for schema in value_schemas()), any_json)
custom_entry = or_odd(some_of({
    "definitionId": st.uuids().map(str), "name": value, "type": or_odd(st.sampled_from(CUSTOM_TYPES)),
    "value": custom_value,
}))
API_NAMES = ["costCentre", "mentor", "tshirtSize", "languagesSpoken", "badge.employeeNumber", "a b", "ünï", ""]
api_name = st.one_of(st.sampled_from(API_NAMES), st.text(max_size=6))
custom_fields = st.one_of(st.dictionaries(api_name, custom_entry, max_size=5), st.just("{}"), any_json)
STATUSES = ["Current Staff", "Exiting Staff", "Past Staff", "Upcoming Staff", "No Job Records",
            "Returning Staff", " current staff "]
MISSING = object()

person = st.fixed_dictionaries(
    {
        "id": mostly(st.uuids().map(str), any_json),  # an odd id is the envelope's to refuse
        "employmentStatus": mostly(st.sampled_from(STATUSES), st.one_of(st.just(MISSING), st.just("Seconded"),
                                                                      any_json)),
    },
    optional={
        **{key: value for key in ("employeeNumber", "firstName", "lastName", "middleName", "preferredName",
                                  "displayName", "title", "gender", "autoIncrementIntellihrId", "isSupervisor")},
        "dateOfBirth": dates,
        "primaryEmailAddress": email,
        "primaryPhoneNumber": phone,
        "addresses": or_odd(st.lists(address, max_size=3)),
        "jobs": or_odd(st.lists(job, max_size=3)),
        "customFields": custom_fields,
        "updatedAt": or_odd(dates),
        # keys no mapping reads: skipped by the fast decoder, whatever they hold
        "emailAddresses": any_json, "phoneNumbers": any_json, "workRights": any_json, "userAccount": any_json,
        "emergencyContact": any_json, "medicalConditions": any_json, "createdAt": any_json,
    },
).map(lambda record: {key: v for key, v in record.items() if v is not MISSING})

# -- what an import may want -------------------------------------------------------------------------

SOURCE_KEYS = [
    "employeeNumber", "primaryEmailAddress", "firstName", "lastName", "middleName", "preferredName", "displayName",
    "title", "gender", "dateOfBirth", "primaryPhoneNumber", "employmentStatus", "autoIncrementIntellihrId",
    "isSupervisor", "address.street", "address.suburb", "address.state", "address.postcode", "address.country",
    "job.name", "job.startDate", "job.endDate", "job.jobStatus", "job.positionTitle",
    *(f"custom.{name}" for name in API_NAMES), "custom.mentor.employeeNumber", "custom.badge", "custom.absent",
]
wanted_sets = st.one_of(st.none(), st.frozensets(st.sampled_from(SOURCE_KEYS), max_size=8))


@st.composite
def pages(draw: st.DrawFn) -> bytes:
    """A page of people as bytes, serialised in one of the ways a server may."""
    people = draw(st.lists(person, max_size=4))
    n = len(people)
    pagination: Any = {"total": n, "count": n, "per_page": 100, "current_page": 1, "total_pages": 1}
    if draw(ONE_IN_TEN):  # now and then an envelope the check refuses
        pagination = draw(st.one_of(any_json, some_of({"total": any_json, "count": any_json,
                                                          "total_pages": any_json})))
    body = {"data": people, "meta": {"pagination": pagination, "requestId": "r"}, "links": draw(any_json)}
    ascii_only = draw(st.booleans())
    separators = draw(st.sampled_from([(",", ":"), (", ", ": ")]))
    return json.dumps(body, ensure_ascii=ascii_only, separators=separators).encode()


def outcome(body: Any, wanted: frozenset[str] | None) -> Any:
    """What the connector makes of a decoded page: the envelope's verdict, then each record's."""
    try:
        page = read_list_page(body, REQUEST)
    except SourceError as exc:
        return ("page refused", exc.code, str(exc))
    people: list[Any] = []
    for raw in page.items:
        try:
            found = normalise_person(raw, MAPPER, None, wanted)
        except SourceError as exc:
            people.append(("record refused", exc.code, str(exc)))
        else:
            people.append((found, repr(found)))
    return page.total, page.total_pages, people


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(content=pages(), wanted=wanted_sets)
def test_the_fast_decoder_gives_exactly_the_people_of_the_general_one(
    content: bytes, wanted: frozenset[str] | None
) -> None:
    fast = people_decoder(wanted)(content)
    assert fast is not UNDECODED, "a well-formed page must not need the general decoder"
    assert outcome(fast, wanted) == outcome(_loads(content), wanted)


def _page(*people: dict[str, Any]) -> dict[str, Any]:
    n = len(people)
    return {"data": list(people), "meta": {"pagination": {"total": n, "count": n, "total_pages": 1}}}


@given(wanted=wanted_sets)
@example(wanted=None)
@example(wanted=frozenset({"custom.costCentre", "address.country"}))
def test_a_realistic_record_keeps_every_value(wanted: frozenset[str] | None) -> None:
    record = {
        "id": "dd75bb0c-5652-432d-abd7-1fcb0fc92d17", "title": "Dr", "displayName": "Ngọc Hoàng",
        "firstName": "Ngọc", "middleName": None, "lastName": "Hoàng", "dateOfBirth": "1966-01-05",
        "isSupervisor": True, "employeeNumber": "E000001", "autoIncrementIntellihrId": 1000,
        "employmentStatus": "Current Staff",
        "primaryEmailAddress": {"email": "ngoc.hoang@example.com", "isPersonal": False},
        "primaryPhoneNumber": {"number": "0434 830 716", "fullNumber": "+34 434 830 716", "isPersonal": False},
        "addresses": [{"addressType": "Home", "country": "Spain", "postcode": "28014", "isPrimary": True}],
        "jobs": [{"id": "21895ca9", "name": "Chief Executive Officer", "startDate": "2021-11-24", "endDate": None,
                  "jobStatus": "Current Job", "isPrimaryJob": True}],
        "customFields": {
            "costCentre": {"definitionId": "d1", "name": "Cost centre", "type": "TEXT", "value": "CC-943"},
            "tshirtSize": {"definitionId": "d2", "name": "T-shirt", "type": "SINGLE_SELECT",
                           "value": {"id": "x", "label": "S"}},
            "mentor": {"definitionId": "d3", "name": "Mentor", "type": "PEOPLE_DROPDOWN",
                       "value": {"options": {"job": {"id": "j"}, "person": {"displayName": "Ana",
                                                                             "employeeNumber": "E7"}}}},
        },
        "updatedAt": "2017-06-19T11:32:02+00:00",
    }
    content = json.dumps(_page(record), ensure_ascii=False).encode()
    fast = people_decoder(wanted)(content)
    assert fast is not UNDECODED
    assert outcome(fast, wanted) == outcome(json.loads(content), wanted)
    [(person, _)] = outcome(fast, wanted)[2]
    if wanted is None:
        assert person.values["custom.mentor.employeeNumber"] == "E7"
        assert person.values["address.country"] == "Spain"
        assert person.job_start_date is not None and person.job_start_date.isoformat() == "2021-11-24"


def test_the_fast_decoder_keeps_only_what_the_wanted_fields_read() -> None:
    record = {"id": "p1", "employmentStatus": "Current Staff", "firstName": "Ana", "lastName": "Lima",
              "workRights": {"name": "Citizen"}, "emailAddresses": [{"email": "a@example.com"}],
              "customFields": {"costCentre": {"definitionId": "d", "type": "TEXT", "value": "CC"},
                               "badge": {"type": "TEXT", "value": "7"}},
              "jobs": [{"id": "j1", "startDate": "2020-01-01", "link": "https://example.com/j1"}]}
    content = json.dumps(_page(record)).encode()
    [kept] = people_decoder({"firstName", "custom.costCentre"})(content)["data"]
    assert kept == {"id": "p1", "employmentStatus": "Current Staff", "firstName": "Ana",
                    "customFields": {"costCentre": {"type": "TEXT", "value": "CC"}},
                    "jobs": [{"id": "j1", "startDate": "2020-01-01"}]}


def test_a_custom_field_with_a_non_ascii_api_name_is_kept() -> None:
    # msgspec 0.22 does not match a TypedDict key that is not ASCII: such names keep every custom field
    record = {"id": "p1", "employmentStatus": "Current Staff",
              "customFields": {"größe": {"type": "TEXT", "value": "L"}, "badge": {"type": "TEXT", "value": "7"}}}
    for body in (json.dumps(_page(record)), json.dumps(_page(record), ensure_ascii=False)):
        [person] = read_list_page(people_decoder({"custom.größe"})(body.encode()), REQUEST).items
        assert normalise_person(person, MAPPER, None, frozenset({"custom.größe"})).values == {"custom.größe": "L"}


def test_a_job_status_of_an_odd_shape_ranks_as_an_unknown_status() -> None:
    jobs = [{"id": "j1", "jobStatus": ["Current Job"]}, {"id": "j2", "jobStatus": {"name": "Past Job"}},
            {"id": "j3", "jobStatus": "Past Job"}]
    record = {"id": "p1", "employmentStatus": "Current Staff", "jobs": jobs}
    content = json.dumps(_page(record)).encode()
    for body in (json.loads(content), people_decoder(None)(content)):
        [raw] = read_list_page(body, REQUEST).items
        assert normalise_person(raw, MAPPER).extras == {"primaryJobId": "j3"}  # a past job before an unknown


# Bodies JSON allows ``json.loads`` to read but msgspec not (or msgspec could skip over unchecked):
# the fast decoder refuses them and the general one decides, exactly as before.
REFUSED = {
    "NaN in a skipped key": b'{"data":[{"id":"p1","employmentStatus":"Current Staff","x":NaN}],'
                            b'"meta":{"pagination":{"total":1,"total_pages":1}}}',
    "Infinity in a read key": b'{"data":[{"id":"p1","employmentStatus":"Current Staff","firstName":Infinity}],'
                              b'"meta":{"pagination":{"total":1,"total_pages":1}}}',
    "a number beyond a double": b'{"data":[{"id":"p1","employmentStatus":"Current Staff","firstName":1e400}],'
                                b'"meta":{"pagination":{"total":1,"total_pages":1}}}',
    "a lone surrogate": b'{"data":[{"id":"p1","employmentStatus":"Current Staff","lastName":"\\ud800"}],'
                        b'"meta":{"pagination":{"total":1,"total_pages":1}}}',
    "UTF-16": json.dumps(_page({"id": "p1", "employmentStatus": "Current Staff"})).encode("utf-16"),
    "a UTF-8 byte order mark": b"\xef\xbb\xbf" + json.dumps(_page({"id": "p1", "employmentStatus": "Past Staff"})
                                                              ).encode(),
    "invalid UTF-8 in a skipped key": b'{"data":[{"id":"p1","employmentStatus":"Current Staff","x":"\xff"}],'
                                      b'"meta":{"pagination":{"total":1,"total_pages":1}}}',
    "cut off": json.dumps(_page({"id": "p1", "employmentStatus": "Current Staff"})).encode()[:-7],
    "nested deeply in a skipped key": b'{"data":[{"id":"p1","x":' + b"[" * 5000 + b"]" * 5000 + b"}]}",
}


def _general(content: bytes) -> Any:
    try:
        return ("read", outcome(_loads(content), None))
    except (ValueError, RecursionError) as exc:
        return ("refused", type(exc).__name__)


def test_bodies_msgspec_would_read_differently_are_left_to_the_general_decoder() -> None:
    decode = people_decoder({"firstName", "lastName"})
    verdicts = {name: _general(content) for name, content in REFUSED.items()}
    for name, content in REFUSED.items():
        assert decode(content) is UNDECODED, name
    # what the general decoder says of them (and so the client, as before): some read, some malformed
    assert verdicts["NaN in a skipped key"][0] == verdicts["UTF-16"][0] == "read"
    assert verdicts["a lone surrogate"][0] == verdicts["a UTF-8 byte order mark"][0] == "read"
    assert verdicts["invalid UTF-8 in a skipped key"] == ("refused", "UnicodeDecodeError")
    assert verdicts["cut off"] == ("refused", "JSONDecodeError")
    assert verdicts["nested deeply in a skipped key"] == ("refused", "RecursionError")
