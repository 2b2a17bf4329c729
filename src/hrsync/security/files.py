"""Private files and folders: the data directory 0700, what holds personal data or keys 0600.

Two layers, so neither a forgotten ``chmod`` nor an odd umask exposes anything: every ``hrsync``
command sets ``umask 077`` before it writes (``cli/main.py``), and the places that create the data
directory, the SQLite database, the key file and the mail catcher's files set the mode explicitly
(these helpers), whatever the process's umask. SQLite creates ``-wal``/``-shm``/``-journal`` with
the database file's own mode, so a 0600 database keeps them 0600 too.

Existing files and folders are left as they are (an operator may have reasons); ``docs/security.md``
says how to tighten an older installation.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
PROCESS_UMASK = 0o077


def restrict_umask() -> None:
    """Make files this process creates private to its user (keeps any stricter bits already set)."""
    current = os.umask(PROCESS_UMASK)
    os.umask(current | PROCESS_UMASK)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) if it does not exist; a directory created here is 0700."""
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            path.mkdir(parents=True, mode=PRIVATE_DIR_MODE)
            os.chmod(path, PRIVATE_DIR_MODE)  # mkdir's mode is filtered by the umask; make it exact
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 if it does not exist (never truncates an existing file)."""
    private_dir(path.parent)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return path
    try:
        os.fchmod(descriptor, PRIVATE_FILE_MODE)
    finally:
        os.close(descriptor)
    return path


def write_private_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a new or existing ``path`` that ends up 0600 (created so, never readable by others)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    try:
        os.fchmod(descriptor, PRIVATE_FILE_MODE)
        with os.fdopen(descriptor, "wb") as handle:
            descriptor = -1
            handle.write(data)
    finally:
        if descriptor >= 0:
            os.close(descriptor)
