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

``{source}`` in advice is replaced by the source's display name ("intelliHR", "Membership file").
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
_CHECK_ADDRESS = (
    "Check the intelliHR account's address in the integration's Authorize step (type it as you see it in your "
    "browser, for example acme or acme.intellihr.net), then run Import data now."
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
_FILE = (
    "Fix the file as the reason above says and upload it again (or drop it in the folder again); "
    "no member was changed."
)
_SUPPORT = (
    "Open the import for the details and run Import data now once the cause is fixed. "
    "If it keeps failing, contact support with the link below."
)

_C, _T, _I = FailureKind.CONFIGURATION, FailureKind.TRANSIENT, FailureKind.INTERNAL

#: Every code a run can fail with. Sources add their codes here; an unknown code reads as ``internal``.
FAILURES: Final[dict[str, Failure]] = {
    f.code: f
    for f in (
        # credentials and tenant
        Failure("bad_key", _C, _REAUTHORIZE),
        Failure("bad_credentials", _C, _REAUTHORIZE),
        Failure("unknown_tenant", _C, _CHECK_ADDRESS),
        Failure("invalid_subdomain", _C, _CHECK_ADDRESS),
        Failure("not_intellihr", _C, _CHECK_ADDRESS),
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
        # membership files
        Failure("no_file", _C, "Upload a membership file (or drop one in the integration's folder), then import."),
        Failure("bad_file", _C, _FILE),
        Failure("file_too_large", _C, _FILE),
        Failure("bad_encoding", _C, _FILE),
        Failure("missing_column", _C, _FILE),
        Failure("duplicate_header", _C, _FILE),
        Failure("link_in_drop_folder", _C,
                "Someone with access to the drop folder put a symbolic link where hrsync expects a folder "
                "(processed, failed, superseded) or a file. hrsync never follows links there, so no file "
                "moved and no member was changed. Remove the link named above (or ask whoever runs the "
                "SFTP server), check how it got there, then run Import data now."),
        # hrsync itself
        Failure("cancelled", _I, _SUPPORT),
        Failure("time_limit", _I, _SUPPORT),
        Failure("worker_lost", _I, _SUPPORT),
        Failure("internal", _I, _SUPPORT),
        Failure("source_error", _I, _SUPPORT),
    )
}

UNKNOWN: Final = Failure("internal", _I, _SUPPORT)


def failure(code: str | None) -> Failure:
    """The table's row for ``code``; codes it does not know (or none) read as an internal failure."""
    if code is None:
        return UNKNOWN
    return FAILURES.get(code, UNKNOWN)
