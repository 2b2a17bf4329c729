"""The drop folder of a membership-file integration: where files arrive, and where they go after.

* **Where.** ``source_settings["path"]`` (an absolute directory an SFTP server writes into), or
  ``<HRSYNC_FILE_DROP_ROOT>/<integration id>/`` (default root ``<HRSYNC_DATA_DIR>/drop``) when the
  integration has none; portal uploads (:func:`drop_upload`) land in the same folder.
* **Which file.** The newest (by modification time, then name) ``*.csv`` file directly in the
  folder, the case of the extension ignored. Dotfiles are ignored, and so are files whose name
  ends in anything but ``.csv`` (``people.csv.part``, ``x.tmp``: uploads in progress), and files
  modified less than ``HRSYNC_FILE_SETTLE_SECONDS`` ago (60 by default: an SFTP upload still being
  written keeps touching its file).
* **After.** ``processed/``, ``failed/`` and ``superseded/`` below the folder receive files under a
  name that never collides: ``<stem>.<UTC time, microseconds>Z[-n].csv``. When files move is the
  source's business (see :class:`hrsync.sources.membership_file.MembershipFileSource`).
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final, Protocol

from hrsync.config import get_settings
from hrsync.sources.base import SourceError
from hrsync.sources.membership_file.reader import too_large

PROCESSED: Final = "processed"
FAILED: Final = "failed"
SUPERSEDED: Final = "superseded"
EXTENSION: Final = ".csv"
_CHUNK = 1024 * 1024
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


class FolderIntegration(Protocol):
    id: int
    source_settings: dict[str, Any] | None


def folder_of(integration: FolderIntegration) -> Path:
    """The integration's drop folder (see the module doc)."""
    path = (integration.source_settings or {}).get("path")
    if path:
        return Path(path)
    if integration.id is None:  # not saved yet: it has no folder of its own
        raise SourceError("The integration has no drop folder until it is saved.", code="no_file")
    return get_settings().resolved_drop_root() / str(integration.id)


def validate_folder(path: object) -> Path:
    """An absolute, existing, writable directory; :class:`SourceError` (``invalid_settings``) otherwise."""
    text = path.strip() if isinstance(path, str) else ""
    if not text:
        raise SourceError("Enter the folder the membership files are dropped into.", code="invalid_settings")
    folder = Path(text)
    if not folder.is_absolute():
        raise SourceError(f"The folder '{text}' must be an absolute path (starting with /).",
                          code="invalid_settings")
    if not folder.is_dir():
        raise SourceError(f"The folder '{text}' does not exist (or is not a folder).", code="invalid_settings")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SourceError(f"hrsync cannot write to the folder '{text}' (files are moved after an import).",
                          code="invalid_settings")
    return folder


def _is_candidate(entry: os.DirEntry[str]) -> bool:
    return (not entry.name.startswith(".") and entry.name.lower().endswith(EXTENSION)
            and entry.is_file(follow_symlinks=False))


def waiting_files(folder: Path) -> list[tuple[float, str, Path]]:
    """Every importable-looking file in the folder as ``(mtime, name, path)``, newest first."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        raise SourceError(f"The membership file folder {folder} does not exist.", code="no_file") from None
    found = [(e.stat().st_mtime, e.name, Path(e.path)) for e in entries if _is_candidate(e)]
    return sorted(found, reverse=True)


def newest_file(folder: Path, *, settle_seconds: float | None = None, now: float | None = None) -> Path:
    """The file the next import reads; :class:`SourceError` ``no_file`` when there is none yet."""
    settle = get_settings().file_settle_seconds if settle_seconds is None else settle_seconds
    moment = time.time() if now is None else now
    waiting = waiting_files(folder)
    for mtime, _name, path in waiting:
        if moment - mtime >= settle:
            return path
    if waiting:
        raise SourceError(
            f"The membership file {waiting[0][1]} arrived less than {settle:g} seconds ago and may still "
            "be being written; import again in a minute.", code="no_file",
        )
    raise SourceError(
        f"There is no membership file (*.csv) waiting in {folder}: upload one or drop it in the folder.",
        code="no_file",
    )


def older_files(folder: Path, than: Path) -> list[Path]:
    """Files waiting in the folder that are older than ``than`` (an import of it supersedes them)."""
    waiting = waiting_files(folder)
    position = next((i for i, (_m, _n, p) in enumerate(waiting) if p == than), None)
    return [] if position is None else [p for _m, _n, p in waiting[position + 1:]]


def move_to(path: Path, subfolder: str) -> Path:
    """Move ``path`` into ``<its folder>/<subfolder>/`` under a new name that never collides."""
    target_dir = path.parent / subfolder
    target_dir.mkdir(exist_ok=True)
    return _move_without_overwriting(path, target_dir / path.name, keep_name=False)


def _names(target: Path, keep_name: bool) -> Iterator[Path]:
    if keep_name:
        yield target
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    for n in range(1000):
        yield target.with_name(f"{target.stem}.{stamp}{'' if n == 0 else f'-{n}'}{target.suffix}")


def _move_without_overwriting(source: Path, target: Path, *, keep_name: bool) -> Path:
    """Move ``source`` to ``target`` (``keep_name``) or a time-stamped variant of it; never overwrites."""
    for candidate in _names(target, keep_name):
        try:
            os.link(source, candidate)  # fails if the name is taken, atomically
        except FileExistsError:
            continue
        except OSError:  # a file system without hard links
            if candidate.exists():
                continue
            os.replace(source, candidate)
            return candidate
        source.unlink()
        return candidate
    raise SourceError(f"The membership file {source.name} could not be moved to {target.parent}.",
                      code="internal")


#: The longest name an upload keeps (after :func:`safe_name`, ASCII only): file systems allow 255 bytes,
#: and a name already taken gets a time stamp added.
MAX_NAME_CHARS = 200


def safe_name(filename: str) -> str:
    """An uploaded file's name fit for the folder: its last path part, plain characters only."""
    base = _SAFE_NAME.sub("_", filename.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    return base or "upload.csv"


def drop_upload(integration: FolderIntegration, filename: str, stream: IO[bytes] | Iterable[bytes]) -> Path:
    """Write an uploaded membership file into the integration's drop folder; the path it got.

    ``filename`` must end in ``.csv``; the file is streamed to a hidden temporary name (never picked by
    an import), refused with ``file_too_large`` past ``HRSYNC_FILE_MAX_BYTES`` and ``bad_file`` when
    empty, then renamed into place under its own (sanitised) name, or ``<stem>.<UTC time>Z.csv``
    when that name is taken. Its modification time is set back by the settle time so that an import
    started right after the upload takes it. Creates the folder if needed.
    """
    name = safe_name(filename)
    if not name.lower().endswith(EXTENSION) or name.startswith("."):
        raise SourceError(f"'{filename[:80]}' is not a CSV file: upload a file whose name ends in .csv.",
                          code="bad_file")
    if len(name) > MAX_NAME_CHARS:  # the folder's file system stops at 255 bytes a name (safe names are ASCII)
        raise SourceError(f"The file name '{filename[:40]}…' is too long ({len(name):,} characters): "
                          f"rename the file to at most {MAX_NAME_CHARS} characters and upload it again.",
                          code="bad_file")
    settings = get_settings()
    folder = folder_of(integration)
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".upload-{secrets.token_hex(8)}.part"
    try:
        size = _write(temp, stream, settings.file_max_bytes)
        if size == 0:
            raise SourceError(f"The uploaded file {name} is empty.", code="bad_file")
        # atomic: an import sees the whole file or none of it
        target = _move_without_overwriting(temp, folder / name, keep_name=True)
    finally:
        temp.unlink(missing_ok=True)
    settled = time.time() - settings.file_settle_seconds
    os.utime(target, (settled, settled))
    return target


def _write(temp: Path, stream: IO[bytes] | Iterable[bytes], limit: int) -> int:
    size = 0
    with temp.open("xb") as out:
        for chunk in _chunks(stream):
            size += len(chunk)
            if size > limit:
                raise too_large(size, limit)
            out.write(chunk)
    return size


def _chunks(stream: IO[bytes] | Iterable[bytes]) -> Iterable[bytes]:
    read = getattr(stream, "read", None)
    if read is None:
        yield from stream
        return
    while chunk := read(_CHUNK):
        yield chunk
