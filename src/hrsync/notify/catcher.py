"""A local mail catcher for the demo and the tests: a real SMTP server that keeps what it receives.

It runs aiosmtpd on a background thread. Each message is kept in memory (tests assert on it) and
written as an ``.eml`` file into a folder, so the portal's "Sent e-mails" page can list what the
demo "sent" even from another process. Nothing is relayed anywhere.
"""

from __future__ import annotations

import email
import email.parser
import email.policy
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hrsync.security.files import private_dir, write_private_bytes

if TYPE_CHECKING:  # aiosmtpd is the optional ``demo`` extra: imported when a catcher starts
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, Envelope, Session


class MailCatcherUnavailableError(RuntimeError):
    """aiosmtpd (the ``demo`` extra) is not installed."""


def _controller_class() -> type[Controller]:
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        raise MailCatcherUnavailableError(
            "the mail catcher needs aiosmtpd, which production installs leave out; install the demo extra: "
            "pip install -c constraints.txt '.[demo]' (make install does)"
        ) from None
    return Controller


@dataclass(frozen=True, slots=True)
class CaughtEmail:
    """One received message, as the portal lists it."""

    mail_from: str
    recipients: tuple[str, ...]
    message: EmailMessage
    received_at: datetime
    path: Path | None = None

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    @property
    def message_id(self) -> str:
        return str(self.message.get("Message-ID", ""))

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""


_HEADER_BYTES = 16_384  # enough for any header block hrsync writes


def _parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


class _Handler:
    def __init__(self, catcher: MailCatcher) -> None:
        self._catcher = catcher

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        self._catcher._store(str(envelope.mail_from or ""), tuple(envelope.rcpt_tos), raw)
        return "250 Message accepted for delivery"


class MailCatcher:
    """``MailCatcher(host, port, folder).start()`` ... ``.stop()``; also a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1025, folder: Path | str | None = None) -> None:
        self.host = host
        self.port = port
        self.folder = Path(folder) if folder is not None else None
        self._messages: list[CaughtEmail] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None
        self._counter = 0

    @property
    def url(self) -> str:
        """The ``HRSYNC_SMTP_URL`` that delivers here."""
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> MailCatcher:
        controller_class = _controller_class()
        if self.folder is not None:
            private_dir(self.folder)
        controller = controller_class(_Handler(self), hostname=self.host, port=self.port, ready_timeout=10.0)
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> MailCatcher:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def messages(self) -> list[CaughtEmail]:
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[CaughtEmail]:
        """The messages once at least ``count`` arrived (or whatever came within ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msgs = self.messages
            if len(msgs) >= count:
                return msgs
            time.sleep(0.02)
        return self.messages

    def _store(self, mail_from: str, recipients: tuple[str, ...], raw: bytes) -> None:
        received = datetime.now(UTC)
        path: Path | None = None
        with self._lock:
            self._counter += 1
            if self.folder is not None:
                name = f"{received.strftime('%Y%m%dT%H%M%S%f')}-{self._counter:06d}.eml"
                path = self.folder / name
                tmp = path.with_suffix(".tmp")
                write_private_bytes(tmp, raw)  # e-mails carry sign-in links: 0600 whatever the umask
                tmp.replace(path)  # readers never see half a file
            self._messages.append(CaughtEmail(mail_from, recipients, _parse(raw), received, path))


def _caught_file(path: Path) -> CaughtEmail:
    """A message a catcher wrote, read back whole (received: the file's time)."""
    msg = _parse(path.read_bytes())
    recipients = tuple(a.strip() for a in str(msg.get("To", "")).split(",") if a.strip())
    return CaughtEmail(str(msg.get("From", "")), recipients, msg, datetime.fromtimestamp(path.stat().st_mtime, UTC),
                       path)


def read_caught_page(
    folder: Path | str, *, header: str, value: str, offset: int = 0, limit: int = 20
) -> tuple[list[CaughtEmail], bool]:
    """One page (newest first) of the caught messages whose ``header`` is ``value``, and whether more follow.

    Only the header block of each file is read to filter; only the messages of the page are parsed
    whole, so a page costs the same however many messages the folder holds before it.
    """
    base = Path(folder)
    if not base.is_dir():
        return [], False
    parser = email.parser.BytesHeaderParser(policy=email.policy.default)
    page: list[CaughtEmail] = []
    seen = 0
    for path in sorted(base.glob("*.eml"), reverse=True):
        with path.open("rb") as handle:
            head = handle.read(_HEADER_BYTES).split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        if str(parser.parsebytes(head).get(header, "")) != value:
            continue
        seen += 1
        if seen <= offset:
            continue
        if len(page) == limit:
            return page, True
        page.append(_caught_file(path))
    return page, False


def read_caught(folder: Path | str, *, limit: int | None = None) -> list[CaughtEmail]:
    """The messages a catcher wrote into ``folder``, newest first (for the "Sent e-mails" page)."""
    base = Path(folder)
    if not base.is_dir():
        return []
    files = sorted(base.glob("*.eml"), reverse=True)
    if limit is not None:
        files = files[:limit]
    return [_caught_file(path) for path in files]
