"""The source protocol: what every HR-system adapter offers the rest of hrsync.

In the spirit of a check / discover / read lifecycle:

* ``check()`` answers "are these credentials right?" with one cheap call;
* ``fields()`` answers "what can be mapped?";
* ``people()`` streams the whole directory, each person exactly once.

A source never decides membership: it normalises what the HR system says into
:class:`SourcePerson` and leaves mapping, validation and planning to :mod:`hrsync.domain`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import TracebackType
from typing import Protocol, Self


class Lifecycle(StrEnum):
    """What an employment status means for membership."""

    ACTIVE = "active"
    PENDING = "pending"  # pre-hire: created, invited from the start date
    INACTIVE = "inactive"  # becomes a leaver


class FieldGroup(StrEnum):
    PERSON = "person"
    JOB = "job"
    CUSTOM = "custom"  # the person's custom fields
    JOB_CUSTOM = "job_custom"  # the primary job's custom fields (read from ``/jobs``)


@dataclass(frozen=True, slots=True)
class SourceField:
    """One mappable source field. ``key`` is what a mapping stores (``job.positionTitle``)."""

    key: str
    label: str
    group: FieldGroup
    kind: str = "text"  # text | email | date | number | select | multiselect | person | boolean
    needs_job_details: bool = False
    sensitive: bool = False  # the HR system marks it as sensitive information
    personal: bool = False  # personal data (phone, address, date of birth): never shown by a trace


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    reason: str | None = None  # for people: what went wrong and what to do
    code: str | None = None  # machine-readable: bad_key | unknown_tenant | unreachable | ...


@dataclass(frozen=True, slots=True)
class SourcePerson:
    """A person as the source says, normalised.

    ``values`` holds every mappable field by its :class:`SourceField` key, as text (dates as
    ``YYYY-MM-DD``, multi-selects joined with ``", "``) or ``None`` when blank.
    """

    source_id: str
    employment_status: str
    lifecycle: Lifecycle
    values: Mapping[str, str | None]
    job_start_date: date | None = None  # primary job's start
    job_end_date: date | None = None  # primary job's end, EXCLUSIVE, as HR systems store it
    updated_at: str | None = None
    extras: Mapping[str, object] = field(default_factory=dict)
    #: Fields the source sent in a shape it could not read (source key → why), left out of ``values``;
    #: :func:`hrsync.domain.records.build_draft` warns about the mapped ones instead of blanking them.
    field_problems: Mapping[str, str] = field(default_factory=dict)


class SourceError(Exception):
    """The source could not be read; the import fails and changes no member.

    ``reason`` is one sentence a person can act on; ``request`` names the request that failed.
    """

    def __init__(self, reason: str, *, code: str = "source_error", request: str | None = None) -> None:
        super().__init__(reason if request is None else f"{reason} ({request})")
        self.reason = reason
        self.code = code
        self.request = request


class AuthError(SourceError):
    """Credentials were refused (401/403): retrying cannot help; re-authorize."""


class Source(Protocol):
    """A source is opened for one use and closed after it: ``with source_for(integration) as s:``."""

    def __enter__(self) -> Source: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def close(self) -> None: ...

    def check(self) -> CheckResult: ...

    def fields(self) -> list[SourceField]: ...

    def people(
        self,
        *,
        include_job_details: bool = False,
        on_progress: ProgressCallback | None = None,
        fields: Collection[str] | None = None,  # only these value keys are needed (None: all)
    ) -> Iterator[SourcePerson]: ...


class PersonLookup(Protocol):
    """A source that can read one person live, without reading the whole directory (the trace of one
    person, :mod:`hrsync.sync.trace`). Not every source can: a membership file is read whole."""

    #: Source field keys :meth:`find_people` can filter on; ``"id"`` is the HR record id.
    findable: frozenset[str]

    def find_people(
        self, field: str, value: str, *, include_job_details: bool = False
    ) -> list[SourcePerson]:
        """Everyone whose ``field`` equals ``value`` in the HR system now (every value delivered);
        ``ValueError`` for a field not in :attr:`findable`, :class:`SourceError` when it cannot be read."""
        ...


def can_find(source: object) -> bool:
    """Whether ``source`` can look one person up (:class:`PersonLookup`)."""
    return callable(getattr(source, "find_people", None)) and isinstance(getattr(source, "findable", None), frozenset)


class Closing:
    """``with thing as t:`` closes ``t`` on the way out; subclasses define ``close``."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class ProgressCallback(Protocol):
    def __call__(self, processed: int, total: int | None) -> None: ...


DEFAULT_STATUS_MAP: Mapping[str, Lifecycle] = {
    "Current Staff": Lifecycle.ACTIVE,
    "Exiting Staff": Lifecycle.ACTIVE,
    "Upcoming Staff": Lifecycle.PENDING,
    "Returning Staff": Lifecycle.PENDING,
    "Past Staff": Lifecycle.INACTIVE,
    "No Job Records": Lifecycle.INACTIVE,
}


def status_table(
    overrides: Mapping[str, str] | None = None, defaults: Mapping[str, Lifecycle] | None = None
) -> dict[str, Lifecycle]:
    """An integration's employment-status table: its kind's ``defaults`` (the HR statuses of
    :data:`DEFAULT_STATUS_MAP` when None), overridden where the integration says so.

    The one place the default table is combined with an integration's own choices.
    """
    table = dict(DEFAULT_STATUS_MAP if defaults is None else defaults)
    for status, lifecycle in (overrides or {}).items():
        table[status] = Lifecycle(lifecycle)
    return table
