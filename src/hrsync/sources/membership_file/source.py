"""The membership-file source: ``check()``, ``fields()`` and ``people()`` over a drop folder of CSV files.

Field keys are the file's header names, trimmed (``"Employee ID"``), so a mapping reads
``{"employee_id": "Employee ID", "email": "Work Email"}``; the label is the same text.

When files move (only when the source is opened with ``consume=True``, which the registry does for
an import that is not a dry run; see :func:`hrsync.sources.membership_file.kind.open_source`):

* at :meth:`close` after ``people()`` read the file **to its end**: the file goes to ``processed/``
  and older files still waiting go to ``superseded/`` (an older full list must never be imported
  after a newer one). A held run's file is processed too: its plan was read and is kept.
* as soon as ``people()`` raises a :class:`SourceError` about the file itself (``bad_file``,
  ``bad_encoding``, ``file_too_large``, ``duplicate_header``, ``missing_column``): the file goes to
  ``failed/`` and the error goes on to the runner, which fails the run before planning (no member
  changes). ``unknown_status`` leaves the file where it is: the fix is in the status mapping.
* a read stopped early (a coverage sample), ``check()`` or ``fields()`` never move anything.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Final

from hrsync.config import get_settings
from hrsync.sources.base import (
    CheckResult,
    Closing,
    FieldGroup,
    Lifecycle,
    ProgressCallback,
    SourceError,
    SourceField,
    SourcePerson,
)
from hrsync.sources.membership_file import folder as drop
from hrsync.sources.membership_file.columns import find_status_column
from hrsync.sources.membership_file.reader import CsvTable
from hrsync.sources.membership_file.rows import RowReader, status_lookup

log = logging.getLogger(__name__)

FILE_FAULTS: Final = frozenset({"bad_file", "bad_encoding", "file_too_large", "duplicate_header", "missing_column"})
PROGRESS_EVERY: Final = 1000


class MembershipFileSource(Closing):
    """The newest membership file of one drop folder.

    ``required`` names the columns that must be in the header (label → header, e.g.
    ``{"Employee ID": "Staff no"}``); ``key_column`` gives ``source_id``; ``status_column`` (None:
    found by name, see :func:`find_status_column`) gives the lifecycle; ``date_columns`` are
    normalised to ISO dates.
    """

    def __init__(
        self,
        folder: Path,
        *,
        required: Mapping[str, str] | None = None,
        key_column: str | None = None,
        status_column: str | None = None,
        date_columns: Collection[str] = (),
        date_format: str = "DD/MM/YYYY",
        status_map: Mapping[str, str] | None = None,
        consume: bool = False,
        max_bytes: int | None = None,
        settle_seconds: float | None = None,
    ) -> None:
        settings = get_settings()
        self.folder = folder
        self.required = dict(required or {})
        self.key_column = key_column
        self.status_column = status_column
        self.date_columns = frozenset(date_columns)
        self.date_format = date_format
        self.consume = consume
        self.max_bytes = settings.file_max_bytes if max_bytes is None else max_bytes
        self.settle_seconds = settings.file_settle_seconds if settle_seconds is None else settle_seconds
        self._statuses: Mapping[str, Lifecycle] = status_lookup(status_map)
        self._read_file: Path | None = None  # read to its end: processed at close()

    def __repr__(self) -> str:
        return f"MembershipFileSource(folder={str(self.folder)!r})"

    # -- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        done, self._read_file = self._read_file, None
        if done is None or not self.consume:
            return
        older = drop.older_files(self.folder, done)
        # Both subfolders are opened (never through a link) before anything moves, and before the
        # runner applies the plan: a link refuses the run with every member and file untouched.
        with drop.mover(self.folder, drop.PROCESSED, *([drop.SUPERSEDED] if older else [])) as moving:
            for path in older:
                log.info("membership file %s superseded by %s", path.name, done.name)
                moving.move(path, drop.SUPERSEDED)
            moved = moving.move(done, drop.PROCESSED)
        log.info("membership file %s imported; moved to %s", done.name, moved)


    # -- the protocol --------------------------------------------------------------------------

    def check(self) -> CheckResult:
        """The folder is there; a waiting file, if any, has a readable header with the key columns."""
        try:
            drop.validate_folder(str(self.folder))
            path = drop.newest_file(self.folder, settle_seconds=self.settle_seconds)
        except SourceError as exc:
            if exc.code == "no_file":
                return CheckResult(ok=True)
            return CheckResult(ok=False, reason=exc.reason, code=exc.code)
        try:
            self.check_file(path)
        except SourceError as exc:
            return CheckResult(ok=False, reason=exc.reason, code=exc.code)
        return CheckResult(ok=True)

    def fields(self) -> list[SourceField]:
        """One field per named column of the newest file's header (``no_file`` when none is waiting)."""
        path = drop.newest_file(self.folder, settle_seconds=self.settle_seconds)
        with CsvTable(path, max_bytes=self.max_bytes) as table:
            headers = table.headers
        return [
            SourceField(h, h, FieldGroup.PERSON, kind="date" if h in self.date_columns else "text")
            for h in headers if h
        ]

    def check_file(self, path: Path) -> None:
        """Refuse ``path`` as :meth:`people` would before its first row: unreadable, a bad header, or
        without a required column (a :class:`SourceError` whose ``code`` is in :data:`FILE_FAULTS`)."""
        with self._open(path):
            pass

    def headers(self) -> list[str]:
        """The newest file's column names (blank ones included, in file order)."""
        path = drop.newest_file(self.folder, settle_seconds=self.settle_seconds)
        with CsvTable(path, max_bytes=self.max_bytes) as table:
            return list(table.headers)

    def people(
        self,
        *,
        include_job_details: bool = False,
        on_progress: ProgressCallback | None = None,
        fields: Collection[str] | None = None,
    ) -> Iterator[SourcePerson]:
        """Everyone in the newest file, row by row (``include_job_details`` has no meaning here)."""
        path = drop.newest_file(self.folder, settle_seconds=self.settle_seconds)
        try:
            yield from self._read(path, on_progress, fields)
        except SourceError as exc:
            if self.consume and exc.code in FILE_FAULTS and path.exists():
                moved = drop.move_to(path, drop.FAILED)
                log.warning("membership file %s refused (%s); moved to %s", path.name, exc.code, moved)
            raise
        self._read_file = path

    # -- helpers -------------------------------------------------------------------------------

    def _open(self, path: Path) -> CsvTable:
        table = CsvTable(path, max_bytes=self.max_bytes)
        missing = [(label, column) for label, column in self.required.items() if column not in table.headers]
        if missing:
            table.close()
            label, column = missing[0]
            shown = ", ".join(f"'{h}'" for h in table.headers if h)[:300]
            raise SourceError(
                f"The membership file {path.name} has no column '{column}' (mapped to {label}); its columns "
                f"are {shown}. Rename the column or change the mapping.", code="missing_column",
            )
        return table

    def _read(
        self, path: Path, on_progress: ProgressCallback | None, fields: Collection[str] | None
    ) -> Iterator[SourcePerson]:
        with self._open(path) as table:
            status_column = self.status_column or find_status_column(table.headers)
            reader = RowReader(
                table.headers, key_column=self.key_column, status_column=status_column,
                date_columns=self.date_columns, date_format=self.date_format, statuses=self._statuses,
                wanted=fields,
            )
            processed = 0
            for number, cells in table.rows():
                yield reader.person(number, cells)
                processed += 1
                if on_progress is not None and processed % PROGRESS_EVERY == 0:
                    on_progress(processed, None)
            if on_progress is not None:
                on_progress(processed, processed)
