"""Membership files uploaded in the portal: stored in the integration's drop folder, or not at all.

:func:`upload` writes the file through the source's own :func:`drop_upload` (atomic, size-limited),
then opens it with the source's reader, so a file that an import would refuse (not UTF-8, no header,
two columns of one name, too large, not ``.csv``, a mapped column missing) is refused **now**, with
the source's reason, and deleted again. :func:`waiting_file` describes the file the next import
reads, for the wizard's *File* and *Mapping* steps and the dashboard.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Final

from hrsync.config import get_settings
from hrsync.services.errors import ServiceError
from hrsync.sources.base import SourceError
from hrsync.sources.membership_file import drop_upload, folder_of, newest_file
from hrsync.sources.membership_file.folder import waiting_files
from hrsync.sources.membership_file.kind import file_source
from hrsync.sources.membership_file.reader import CsvTable
from hrsync.sources.registry import file_kinds
from hrsync.store.models import Integration, IntegrationStatus

PREVIEW_ROWS: Final = 5
#: Rows are counted for files up to this size (a count reads the whole file).
COUNT_ROWS_MAX_BYTES: Final = 5 * 1024 * 1024
CELL_MAX_CHARS: Final = 80


@dataclass(frozen=True)
class WaitingFile:
    """The file the next import of a membership-file integration reads."""

    name: str
    size: int
    modified: datetime
    headers: list[str]
    rows: list[list[str]]  # the first PREVIEW_ROWS rows, one cell per header
    row_count: int | None  # None: not counted (a large file)


def takes_files(integration: Integration) -> bool:
    """Whether the integration's source reads uploaded files."""
    return integration.kind in file_kinds()


def drop_folder(integration: Integration) -> str | None:
    """Where files for this integration are dropped (for an SFTP server), or None before it is saved."""
    try:
        return str(folder_of(integration))
    except SourceError:
        return None


def max_upload_bytes() -> int:
    return get_settings().file_max_bytes


def upload(integration: Integration, filename: str, stream: IO[bytes] | Iterable[bytes]) -> WaitingFile:
    """Store an uploaded membership file in the integration's drop folder, checked as an import would.

    A published integration's mapped key columns must be in the file's header; a draft's mapping is
    still being chosen, so only the file itself is checked. Raises :class:`ServiceError` with the
    source's reason and code (``bad_file``, ``bad_encoding``, ``file_too_large``,
    ``duplicate_header``, ``missing_column``), leaving nothing behind.
    """
    if not takes_files(integration):
        raise ServiceError(f"This integration reads {integration.kind}, not uploaded files.", code="invalid")
    if not filename:
        raise ServiceError("Choose a CSV file to upload.", code="bad_file")
    try:
        path = drop_upload(integration, filename, stream)
    except SourceError as exc:
        raise ServiceError(exc.reason, code=exc.code) from None
    try:
        checker = file_source(integration)
        if integration.status == IntegrationStatus.DRAFT.value:
            checker.required = {}
        checker.check_file(path)
        return describe(path)
    except SourceError as exc:
        path.unlink(missing_ok=True)
        raise ServiceError(exc.reason, code=exc.code) from None


NO_FILE_YET: Final = "No file has been uploaded yet: choose one above."


def waiting_file(integration: Integration) -> tuple[WaitingFile | None, str | None]:
    """The file the next import reads, or None with why not (no file yet, or it cannot be read)."""
    if not takes_files(integration):
        return None, None
    try:
        folder = folder_of(integration)
        if (not folder.exists() and not folder.is_symlink()) or not waiting_files(folder):
            return None, NO_FILE_YET  # before any upload: plain words, not the server's folder
        return describe(newest_file(folder)), None
    except SourceError as exc:
        return None, exc.reason


def describe(path: Path) -> WaitingFile:
    """Name, size, header, first rows and (for a small file) the row count; ``SourceError`` if unreadable."""
    stat = path.stat()
    with CsvTable(path, max_bytes=max_upload_bytes()) as table:
        width = len(table.headers)
        rows: list[list[str]] = []
        count = 0
        for _number, cells in table.rows():
            if len(rows) < PREVIEW_ROWS:
                rows.append([_cell(c) for c in (cells + [""] * width)[:width]])
            count += 1
            if count >= PREVIEW_ROWS and stat.st_size > COUNT_ROWS_MAX_BYTES:
                break
        return WaitingFile(
            name=path.name, size=stat.st_size, modified=datetime.fromtimestamp(stat.st_mtime, UTC),
            headers=list(table.headers), rows=rows,
            row_count=count if stat.st_size <= COUNT_ROWS_MAX_BYTES else None,
        )


def _cell(text: str) -> str:
    """A cell as the preview shows it: one line, trimmed, shortened (pages escape it; it is never a formula)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= CELL_MAX_CHARS else flat[: CELL_MAX_CHARS - 1] + "…"
