"""Decoding a page of people straight into the few fields an import reads (see decision 0021).

A person record carries far more than any mapping reads (every e-mail address and phone number,
the emergency contact, work rights, the user account, each custom field's definition id...).
:func:`people_decoder` builds, once per set of wanted source fields, a msgspec decoder whose types
name only the keys :func:`~.normalise.normalise_person` will look at: everything else is skipped by
the parser without building a Python object for it.

The types are liberal where the published spec is silent: every position accepts *any* JSON
value, and only when it is the expected kind (an object, a list) is it narrowed to the keys read.
What comes out is plain dicts and lists, holding exactly what ``json.loads`` would have put under
those keys, so the envelope check, the pager and the normalisation are the very code that reads
a generically decoded page, and a record decodes to the same :class:`SourcePerson` either way.

The fast path never decides what is wrong with a page: should msgspec refuse it for any reason
(malformed or cut-off JSON, ``NaN``, a lone surrogate, a number beyond a double, JSON nested too
deeply, a body in UTF-16) :meth:`PeopleDecoder.__call__` answers :data:`UNDECODED` and the client
reads the page the general way, which decides, exactly as before, whether it is malformed (retried),
too deeply nested, or fine after all.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache
from typing import Any, Final, TypedDict, Union

import msgspec

from hrsync.sources.intellihr.normalise import ADDRESS_FIELDS, EMPLOYEE_NUMBER_SUFFIX, TEXT_FIELDS
from hrsync.sources.rest.client import UNDECODED

_PLAIN_KEYS: Final = frozenset({*TEXT_FIELDS, "dateOfBirth", "autoIncrementIntellihrId", "isSupervisor"})


def _liberal(obj: Any = None, arr: Any = None) -> Any:
    """Any JSON value; an object decoded as ``obj`` (a TypedDict keeps only its keys), a list as ``arr``."""
    kinds = (obj or dict[str, Any], arr or list[Any], str, int, float, bool, None)
    return Union[kinds]  # noqa: UP007 - built at run time from a tuple


def _some_of(name: str, fields: dict[str, Any]) -> Any:
    """An object of which only these keys are kept, each decoded as its type; absent keys stay absent."""
    return TypedDict(name, fields, total=False)  # type: ignore[operator]


def _any(*keys: str) -> dict[str, Any]:
    return dict.fromkeys(keys, Any)


_EMAIL: Final = _liberal(_some_of("Email", _any("email")))
_PHONE: Final = _liberal(_some_of("Phone", _any("fullNumber", "number")))
_ADDRESSES: Final = _liberal(arr=list[_liberal(_some_of("Address", _any("isPrimary", *ADDRESS_FIELDS)))])  # type: ignore[misc]
_JOBS: Final = _liberal(
    arr=list[_liberal(_some_of("JobSummary", _any("id", "name", "startDate", "endDate", "jobStatus", "isPrimaryJob")))]  # type: ignore[misc]
)
_CUSTOM_ENTRY: Final = _liberal(_some_of("CustomField", _any("name", "type", "value")))
_ALL_CUSTOM: Final = _liberal(dict[str, _CUSTOM_ENTRY])  # type: ignore[valid-type]
_ALWAYS: Final = {"id": Any, "employmentStatus": Any, "updatedAt": Any, "jobs": _JOBS}


def person_keys(wanted: frozenset[str] | None) -> dict[str, Any]:
    """The top-level keys of a person record read for these source fields (all of them for ``None``)."""
    if wanted is None:
        return {**_ALWAYS, **dict.fromkeys(_PLAIN_KEYS, Any), "primaryEmailAddress": _EMAIL,
                "primaryPhoneNumber": _PHONE, "addresses": _ADDRESSES, "customFields": _ALL_CUSTOM}
    keys = {**_ALWAYS, **dict.fromkeys(_PLAIN_KEYS & wanted, Any)}
    if "primaryEmailAddress" in wanted:
        keys["primaryEmailAddress"] = _EMAIL
    if "primaryPhoneNumber" in wanted:
        keys["primaryPhoneNumber"] = _PHONE
    if any(key.startswith("address.") for key in wanted):
        keys["addresses"] = _ADDRESSES
    names = custom_names(wanted)
    if names and all(name.isascii() for name in names):
        keys["customFields"] = _liberal(_some_of("CustomFields", dict.fromkeys(sorted(names), _CUSTOM_ENTRY)))
    elif names:  # msgspec 0.22 misses non-ASCII TypedDict keys (msgspec PR #1126): keep every custom field
        keys["customFields"] = _ALL_CUSTOM
    return keys


def custom_names(wanted: frozenset[str]) -> set[str]:
    """The custom fields' api names these source fields read (a dropdown's number reads the dropdown)."""
    names: set[str] = set()
    for key in wanted:
        if key.startswith("custom."):
            name = key[7:]
            names.add(name)
            if name.endswith(EMPLOYEE_NUMBER_SUFFIX):
                names.add(name[: -len(EMPLOYEE_NUMBER_SUFFIX)])
    return names


class PeopleDecoder:
    """Decodes a ``GET /people`` page into dicts holding only what ``wanted`` needs."""

    __slots__ = ("_decoder",)

    def __init__(self, wanted: frozenset[str] | None) -> None:
        person = _liberal(_some_of("Person", person_keys(wanted)))
        page = _some_of("PeoplePage", {"data": _liberal(arr=list[person]), "meta": Any})  # type: ignore[valid-type]
        self._decoder = msgspec.json.Decoder(_liberal(page))

    def __call__(self, content: bytes) -> Any:
        """The page, or :data:`UNDECODED` for a body this decoder does not vouch for."""
        if not content.isascii():
            try:  # msgspec skips over bytes it does not keep; JSON must be UTF-8 throughout
                content.decode("utf-8")
            except UnicodeDecodeError:
                return UNDECODED
        try:
            return self._decoder.decode(content)
        except (msgspec.DecodeError, RecursionError, ValueError):
            return UNDECODED


@lru_cache(maxsize=32)
def _cached(wanted: frozenset[str] | None) -> PeopleDecoder:
    return PeopleDecoder(wanted)


def people_decoder(wanted: Collection[str] | None) -> PeopleDecoder:
    """The decoder for these source fields (built once per set: building one costs a millisecond)."""
    return _cached(None if wanted is None else frozenset(wanted))
