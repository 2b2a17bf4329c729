"""The drop folder of a membership-file integration: where files arrive, and where they go after.

* **Where.** ``settings["path"]`` (an absolute directory an SFTP server writes into), or
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
* **No links.** Whoever can write the folder (an SFTP account) must not be able to send a file
  elsewhere or read one from elsewhere. The folder and its subfolders are opened as directory file
  descriptors with ``O_NOFOLLOW`` and files move between those descriptors (``linkat``/``unlinkat``),
  so a ``processed/`` replaced by a symbolic link to another integration's folder is refused, not
  followed, whenever it is swapped; a waiting ``*.csv`` that is a symbolic link is refused too. Either
  fails the run with ``link_in_drop_folder``, before any member changes.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final, Protocol

from hrsync.config import get_settings
from hrsync.sources.base import SourceError
from hrsync.sources.membership_file.reader import LINK_REFUSED, too_large

PROCESSED: Final = "processed"
FAILED: Final = "failed"
SUPERSEDED: Final = "superseded"
EXTENSION: Final = ".csv"
_CHUNK = 1024 * 1024
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NOT_A_PLAIN_FOLDER = (errno.ELOOP, errno.ENOTDIR)
_LINK_ADVICE = ("hrsync never follows links there, so nothing was imported or moved; remove the link "
                "(or ask whoever manages the SFTP server to), then import again.")


class FolderIntegration(Protocol):
    id: int
    settings: dict[str, Any] | None


def folder_of(integration: FolderIntegration) -> Path:
    """The integration's drop folder (see the module doc)."""
    path = (integration.settings or {}).get("path")
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
    if folder.is_symlink():
        raise SourceError(f"The folder '{text}' is a symbolic link: enter the folder it points to.",
                          code="invalid_settings")
    if not folder.is_dir():
        raise SourceError(f"The folder '{text}' does not exist (or is not a folder).", code="invalid_settings")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SourceError(f"hrsync cannot write to the folder '{text}' (files are moved after an import).",
                          code="invalid_settings")
    return folder


def _looks_importable(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(EXTENSION)


def linked_file(name: str) -> SourceError:
    return SourceError(f"The membership file {name} in the drop folder is a symbolic link; {_LINK_ADVICE}",
                       code=LINK_REFUSED)


def _linked_folder(path: Path, dir_fd: int | None = None) -> SourceError:
    """Why ``path`` was not opened as a folder: a symbolic link, or something else than a folder."""
    try:
        link = stat.S_ISLNK(os.stat(path.name if dir_fd is not None else path, dir_fd=dir_fd,
                                    follow_symlinks=False).st_mode)
    except OSError:
        link = False
    what = "a symbolic link" if link else "not a folder"
    return SourceError(f"The folder {path} is {what}; {_LINK_ADVICE}", code=LINK_REFUSED)


@contextmanager
def opened_folder(folder: Path) -> Iterator[int]:
    """The drop folder as a directory file descriptor, never through a link in its last part."""
    try:
        fd = os.open(folder, _DIRECTORY)
    except FileNotFoundError:
        raise SourceError(f"The membership file folder {folder} does not exist.", code="no_file") from None
    except OSError as exc:
        if exc.errno in _NOT_A_PLAIN_FOLDER:
            raise _linked_folder(folder) from None
        raise
    try:
        yield fd
    finally:
        os.close(fd)


def _open_subfolder(folder: Path, folder_fd: int, name: str) -> int:
    """``<folder>/<name>/`` created if missing and opened, both relative to ``folder_fd``, never
    through a link: a ``name`` that is a symbolic link (or a file) is refused. Close what it returns."""
    try:
        os.mkdir(name, dir_fd=folder_fd)  # mkdirat never follows a link: an existing one is EEXIST
    except FileExistsError:
        pass
    try:
        return os.open(name, _DIRECTORY, dir_fd=folder_fd)
    except OSError as exc:
        if exc.errno in _NOT_A_PLAIN_FOLDER:
            raise _linked_folder(folder / name, folder_fd) from None
        raise


def waiting_files(folder: Path) -> list[tuple[float, str, Path]]:
    """Every importable-looking file in the folder as ``(mtime, name, path)``, newest first.

    A ``*.csv`` that is a symbolic link is refused (``link_in_drop_folder``), not skipped: an
    import that silently ignored the file its sender meant would be harder to understand.
    """
    found = []
    with opened_folder(folder) as fd, os.scandir(fd) as entries:
        for entry in entries:
            if not _looks_importable(entry.name):
                continue
            if entry.is_symlink():
                raise linked_file(entry.name)
            if entry.is_file(follow_symlinks=False):
                found.append((entry.stat(follow_symlinks=False).st_mtime, entry.name, folder / entry.name))
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


class Mover:
    """Moves files of one open drop folder into its subfolders, all through directory descriptors."""

    def __init__(self, folder: Path, folder_fd: int, subfolders: dict[str, int]) -> None:
        self.folder, self._fd, self._subfolders = folder, folder_fd, subfolders

    def move(self, path: Path, subfolder: str) -> Path:
        """Move ``path`` (a file of the folder) into ``subfolder`` under a name that never collides."""
        moved = _move_without_overwriting(self._fd, path.name, self._subfolders[subfolder], path.name,
                                          keep_name=False)
        return self.folder / subfolder / moved


@contextmanager
def mover(folder: Path, *subfolders: str) -> Iterator[Mover]:
    """Open ``folder`` and each of ``subfolders`` (created when missing) before anything moves, so a
    link in any of them refuses the whole move instead of half of it."""
    with opened_folder(folder) as fd:
        opened: dict[str, int] = {}
        try:
            for name in subfolders:
                opened[name] = _open_subfolder(folder, fd, name)
            yield Mover(folder, fd, opened)
        finally:
            for sub in opened.values():
                os.close(sub)


def move_to(path: Path, subfolder: str) -> Path:
    """Move ``path`` into ``<its folder>/<subfolder>/`` under a new name that never collides."""
    with mover(path.parent, subfolder) as moving:
        return moving.move(path, subfolder)


def _names(name: str, keep_name: bool) -> Iterator[str]:
    if keep_name:
        yield name
    stem, suffix = os.path.splitext(name)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    for n in range(1000):
        yield f"{stem}.{stamp}{'' if n == 0 else f'-{n}'}{suffix}"


def _move_without_overwriting(from_fd: int, name: str, to_fd: int, target: str, *, keep_name: bool) -> str:
    """Move ``name`` (in ``from_fd``) to ``target`` or a time-stamped variant of it (in ``to_fd``);
    never overwrites, never follows a link; the name it got."""
    try:
        if stat.S_ISLNK(os.stat(name, dir_fd=from_fd, follow_symlinks=False).st_mode):
            raise linked_file(name)
    except FileNotFoundError:
        raise SourceError(f"The membership file {name} is no longer in the drop folder.", code="no_file") from None
    for candidate in _names(target, keep_name):
        try:  # fails if the name is taken, atomically
            os.link(name, candidate, src_dir_fd=from_fd, dst_dir_fd=to_fd, follow_symlinks=False)
        except FileExistsError:
            continue
        except OSError:  # a file system without hard links
            if _exists(candidate, to_fd):
                continue
            os.rename(name, candidate, src_dir_fd=from_fd, dst_dir_fd=to_fd)
            return candidate
        os.unlink(name, dir_fd=from_fd)
        return candidate
    raise SourceError(f"The membership file {name} could not be moved.", code="internal")


def _exists(name: str, dir_fd: int) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


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
    temp = f".upload-{secrets.token_hex(8)}.part"
    with opened_folder(folder) as fd:
        try:
            size = _write(fd, temp, stream, settings.file_max_bytes)
            if size == 0:
                raise SourceError(f"The uploaded file {name} is empty.", code="bad_file")
            # atomic: an import sees the whole file or none of it
            target = _move_without_overwriting(fd, temp, fd, name, keep_name=True)
        finally:
            _unlink_quietly(temp, fd)
        settled = time.time() - settings.file_settle_seconds
        os.utime(target, (settled, settled), dir_fd=fd, follow_symlinks=False)
    return folder / target


def _unlink_quietly(name: str, dir_fd: int) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass


def _write(dir_fd: int, temp: str, stream: IO[bytes] | Iterable[bytes], limit: int) -> int:
    size = 0
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    with os.fdopen(os.open(temp, flags, 0o666, dir_fd=dir_fd), "wb") as out:
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
