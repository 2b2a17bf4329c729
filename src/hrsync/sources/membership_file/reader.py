"""Reading a membership file: a CSV table, streamed row by row with the stdlib :mod:`csv` module.

What is accepted: UTF-8 with or without a byte-order mark; a comma or a semicolon between cells
(whichever the header line holds more of, outside quotes; a tie reads as a comma); quoted cells
with delimiters, doubled quotes and line breaks inside; LF or CRLF line ends; blank lines anywhere
(skipped). Header names are trimmed; a blank header names no field and its cells are ignored.

What is refused, each as a :class:`SourceError` whose ``code`` is in :mod:`hrsync.domain.failures`:

* ``file_too_large`` - bigger than ``HRSYNC_FILE_MAX_BYTES``, checked on the file's size *before*
  reading, and again while reading (a file still growing);
* ``bad_file`` - empty, no header, a NUL byte in the first 4 KiB (binary, not text), or a quoted cell
  that never ends;
* ``bad_encoding`` - UTF-16/UTF-32 (a spreadsheet's "Unicode text"), or bytes that are not UTF-8,
  naming the line and byte offset of the first one;
* ``duplicate_header`` - two columns with the same (trimmed) name;
* ``link_in_drop_folder`` - the file is a symbolic link (opened with ``O_NOFOLLOW``) or not a plain file.
"""

from __future__ import annotations

import csv
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Final

from hrsync.sources.base import Closing, SourceError

UTF8_BOM: Final = b"\xef\xbb\xbf"
_WIDE_BOMS: Final = (b"\xff\xfe", b"\xfe\xff")  # UTF-16 (and UTF-32 LE starts like UTF-16 LE)
SNIFF_BYTES: Final = 4096
DELIMITERS: Final = (",", ";")
#: The failure code of a link (or something else than a plain file or folder) inside a drop folder.
LINK_REFUSED: Final = "link_in_drop_folder"
_SAVE_AS = "save it from the spreadsheet as 'CSV UTF-8' and try again"


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def too_large(size: int, limit: int) -> SourceError:
    return SourceError(
        f"The membership file is {_mb(size)}, more than the {_mb(limit)} allowed; split it or remove "
        "unneeded columns.", code="file_too_large",
    )


def sniff_delimiter(header_line: str) -> str:
    """``;`` when the header line holds more semicolons than commas outside quotes, else ``,``."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    return ";" if counts[";"] > counts[","] else ","


class CsvTable(Closing):
    """One open membership file: its ``headers``, then :meth:`rows` once. Close it (or use ``with``)."""

    def __init__(self, path: Path, *, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._fh: BinaryIO = _open_plain_file(path)
        try:
            size = os.fstat(self._fh.fileno()).st_size
            if size > max_bytes:
                raise too_large(size, max_bytes)
            if size == 0:
                raise SourceError(f"The membership file {path.name} is empty.", code="bad_file")
            self._check_start(self._fh.read(SNIFF_BYTES))
            self._fh.seek(0)
            self._lines = self._decoded_lines()
            self.delimiter, self._reader = self._open_reader()
            self.headers = self._read_headers()
        except BaseException:
            self._fh.close()
            raise

    # -- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        self._fh.close()


    # -- reading -------------------------------------------------------------------------------

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """``(row number, cells)`` for each non-blank row; the header is row 1, as a spreadsheet shows it."""
        number = 1
        try:
            for cells in self._reader:
                number += 1
                if any(cell.strip() for cell in cells):
                    yield number, cells
        except csv.Error as exc:
            raise self._bad_csv(exc) from None

    def _check_start(self, head: bytes) -> None:
        name = self.path.name
        if head.startswith(_WIDE_BOMS):
            raise SourceError(f"The membership file {name} is UTF-16 text, not UTF-8: {_SAVE_AS}.",
                              code="bad_encoding")
        if b"\x00" in head:
            raise SourceError(f"The membership file {name} is not a CSV text file (it holds binary data).",
                              code="bad_file")

    def _decoded_lines(self) -> Iterator[str]:
        """The file's lines as text, strictly UTF-8, the BOM dropped; counts bytes against the limit."""
        offset = 0
        for number, raw in enumerate(self._fh, start=1):
            if number == 1 and raw.startswith(UTF8_BOM):
                raw, offset = raw[len(UTF8_BOM):], len(UTF8_BOM)
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SourceError(
                    f"The membership file {self.path.name} is not UTF-8 text: line {number}, byte offset "
                    f"{offset + exc.start}, holds byte 0x{raw[exc.start]:02x}; {_SAVE_AS}.",
                    code="bad_encoding",
                ) from None
            offset += len(raw)
            if offset > self.max_bytes:
                raise too_large(offset, self.max_bytes)
            yield line

    def _open_reader(self) -> tuple[str, Iterator[list[str]]]:
        """Skip leading blank lines, sniff the delimiter from the header line, start the CSV reader."""
        for line in self._lines:
            if line.strip():
                delimiter = sniff_delimiter(line)
                return delimiter, csv.reader(_chain(line, self._lines), delimiter=delimiter, strict=True)
        raise SourceError(f"The membership file {self.path.name} is empty.", code="bad_file")

    def _read_headers(self) -> list[str]:
        try:
            first = next(self._reader)
        except csv.Error as exc:
            raise self._bad_csv(exc) from None
        headers = [h.strip() for h in first]
        if not any(headers):
            raise SourceError(f"The membership file {self.path.name} has no header row.", code="bad_file")
        seen: set[str] = set()
        for header in headers:
            if header and header in seen:
                raise SourceError(
                    f"The membership file {self.path.name} has two columns named '{header[:60]}': "
                    "rename or remove one.", code="duplicate_header",
                )
            seen.add(header)
        return headers

    def _bad_csv(self, exc: csv.Error) -> SourceError:
        line = getattr(self._reader, "line_num", 0)
        return SourceError(
            f"The membership file {self.path.name} could not be read as CSV near line {line} ({exc}); "
            "check for a quote that is never closed.", code="bad_file",
        )


def _open_plain_file(path: Path) -> BinaryIO:
    """``path`` opened for reading if it is a plain file; a symbolic link is never followed (nor a
    FIFO waited on): either is refused with ``link_in_drop_folder``."""
    refused = SourceError(
        f"The membership file {path.name} is a symbolic link or not a plain file; hrsync reads only plain "
        "files, so nothing was imported. Remove it and drop the file itself.", code=LINK_REFUSED,
    )
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise refused from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise refused
    return os.fdopen(fd, "rb")


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest
