"""Why a run failed, as a table: every failure code, its kind and the advice an administrator reads.

A source raises :class:`hrsync.sources.base.SourceError` with a ``code``; the runner stores that code
on the run (``import_runs.failure_code``) next to the one-sentence ``reason``. The run e-mail, the
run page, the API and the CLI's one-line reason all read this table by code instead of guessing
from the English message.

Kinds, in the spirit of Airbyte's error resolution:

* ``configuration`` - something an administrator must change (key, tenant, mapping, file); the
  next scheduled import fails the same way until they do;
* ``transient`` - the HR system or network misbehaved; the next import usually succeeds;
* ``internal`` - hrsync itself failed; support should look.

``{source}`` in advice is replaced by the source's display name ("Membership file (CSV / SFTP)", ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class FailureKind(StrEnum):
    CONFIGURATION = "configuration"
    TRANSIENT = "transient"
    INTERNAL = "internal"


@dataclass(frozen=True, slots=True)
class Failure:
    code: str
    kind: FailureKind
    advice: str

    def advice_for(self, source_name: str) -> str:
        return self.advice.replace("{source}", source_name)


_REAUTHORIZE = (
    "Re-authorize the integration: open it, choose Authorize, and enter a new {source} API key "
    "(in {source}: Settings → Public API Access Keys). Then run Import data now."
)
_TEMPORARY = (
    "{source} could not be read just now. This is usually temporary: the next scheduled import will "
    "try again, or run Import data now later."
)
_ODD_ANSWER = (
    "{source} answered in a way hrsync could not read, so nothing was changed. Run Import data now "
    "again later; if it keeps failing, contact support with the link below."
)
_MAPPING = "Open the integration's mapping, fix the field named above, publish again, then run Import data now."
_STATUS_TABLE = (
    "Open the integration's settings and say what the new employment status means (active, pre-hire "
    "or leaver), then run Import data now."
)
_SUPPORT = (
    "Open the import for the details and run Import data now once the cause is fixed. "
    "If it keeps failing, contact support with the link below."
)

_C, _T, _I = FailureKind.CONFIGURATION, FailureKind.TRANSIENT, FailureKind.INTERNAL

#: Every code a run can fail with. Each kind of source adds its own rows (``SourceKind.failures``,
#: through :func:`add_failures` when the registry lists it); an unknown code reads as ``internal``.
FAILURES: Final[dict[str, Failure]] = {
    f.code: f
    for f in (
        # credentials and tenant
        Failure("bad_key", _C, _REAUTHORIZE),
        Failure("bad_credentials", _C, _REAUTHORIZE),
        Failure("invalid_settings", _C, "Open the integration's settings, correct them, then run Import data now."),
        # mapping and statuses
        Failure("invalid_mapping", _C, _MAPPING),
        Failure("unknown_status", _C, _STATUS_TABLE),
        # the HR system or network misbehaving
        Failure("unreachable", _T, _TEMPORARY),
        Failure("unavailable", _T, _TEMPORARY),
        Failure("rate_limited", _T, _TEMPORARY),
        Failure("read_deadline", _T, _TEMPORARY),
        Failure("unstable_directory", _T, _TEMPORARY),
        Failure("repeating_pages", _T, _ODD_ANSWER),
        Failure("runaway_paging", _T, _ODD_ANSWER),
        Failure("bad_response", _T, _ODD_ANSWER),
        Failure("malformed_response", _T, _ODD_ANSWER),
        Failure("unexpected_shape", _T, _ODD_ANSWER),
        Failure("response_too_large", _T, _ODD_ANSWER),
        Failure("too_deeply_nested", _T, _ODD_ANSWER),
        # hrsync itself
        Failure("cancelled", _I, _SUPPORT),
        Failure("time_limit", _I, _SUPPORT),
        Failure("worker_lost", _I, _SUPPORT),
        Failure("internal", _I, _SUPPORT),
        Failure("source_error", _I, _SUPPORT),
    )
}

UNKNOWN: Final = Failure("internal", _I, _SUPPORT)


def add_failures(rows: tuple[Failure, ...]) -> None:
    """A kind of source's own rows; a code already in the table keeps its first meaning."""
    for row in rows:
        FAILURES.setdefault(row.code, row)


def failure(code: str | None) -> Failure:
    """The table's row for ``code``; codes it does not know (or none) read as an internal failure."""
    if code is None:
        return UNKNOWN
    return FAILURES.get(code, UNKNOWN)
