"""SMTP delivery: the one place that talks to a mail server.

``HRSYNC_SMTP_URL`` takes three shapes, because those are the three ways mail relays are run:

* ``smtp://host:port`` - plain SMTP (a local relay or the demo's mail catcher);
* ``smtp://user:pass@host:587?starttls=true`` - submission with STARTTLS;
* ``smtps://user:pass@host:465`` - implicit TLS.

Credentials are percent-decoded so passwords with ``@`` or ``:`` work. Credentials on a plain
``smtp://`` URL (no TLS) are refused when the settings load (:func:`require_tls_for_credentials`)
unless ``HRSYNC_SMTP_ALLOW_PLAINTEXT_AUTH=1``. The password is kept out of
``repr`` and never appears in an exception message or a log line: errors name the host and port only.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from enum import StrEnum
from types import TracebackType
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_TIMEOUT = 15.0
_TRUE = {"1", "true", "yes", "on"}


class SmtpSecurity(StrEnum):
    PLAIN = "plain"
    STARTTLS = "starttls"
    SSL = "ssl"


class SmtpUrlError(ValueError):
    """The SMTP URL is malformed. The message never repeats the URL (it may hold a password)."""


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    security: SmtpSecurity = SmtpSecurity.PLAIN
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT

    @property
    def display(self) -> str:
        """Where mail goes, safe to show to people and logs."""
        return f"{self.host}:{self.port} ({self.security.value})"


def parse_smtp_url(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> SmtpConfig:
    """Read ``HRSYNC_SMTP_URL`` into an :class:`SmtpConfig`.

    ``?starttls=true`` on an ``smtp://`` URL asks for STARTTLS; ``?timeout=<seconds>`` overrides the
    socket timeout. Anything else is rejected so a typo does not silently send mail in the clear.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise SmtpUrlError("the SMTP URL is malformed (check the port)") from None
    scheme = parts.scheme.lower()
    if scheme not in {"smtp", "smtps"}:
        raise SmtpUrlError("the SMTP URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise SmtpUrlError("the SMTP URL has no host")
    query = {k.lower(): v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = set(query) - {"starttls", "timeout"}
    if unknown:
        raise SmtpUrlError(f"the SMTP URL has unknown options: {', '.join(sorted(unknown))}")
    starttls = query.get("starttls", "").lower() in _TRUE
    if scheme == "smtps":
        if starttls:
            raise SmtpUrlError("smtps:// already uses TLS; drop ?starttls=true")
        security = SmtpSecurity.SSL
        default_port = 465
    else:
        security = SmtpSecurity.STARTTLS if starttls else SmtpSecurity.PLAIN
        default_port = 587 if starttls else 25
    if "timeout" in query:
        try:
            timeout = float(query["timeout"])
        except ValueError:
            raise SmtpUrlError("the SMTP URL's timeout must be a number of seconds") from None
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return SmtpConfig(
        host=parts.hostname,
        port=port or default_port,
        security=security,
        username=username,
        password=password,
        timeout=timeout,
    )


def require_tls_for_credentials(config: SmtpConfig, *, allow_plaintext_auth: bool = False) -> None:
    """Refuse a user name or password on a connection without TLS (``smtp://`` without ``?starttls=true``).

    SMTP AUTH PLAIN/LOGIN sends the password as base64: anyone on the path reads it. The operator
    can accept that knowingly (``HRSYNC_SMTP_ALLOW_PLAINTEXT_AUTH=1``, e.g. a relay on the same host).
    """
    if allow_plaintext_auth or config.security is not SmtpSecurity.PLAIN:
        return
    if config.username or config.password:
        raise SmtpUrlError(
            "HRSYNC_SMTP_URL has credentials but no TLS, so the password would cross the network readable: "
            "use smtps://host:465 or smtp://host:587?starttls=true, or set HRSYNC_SMTP_ALLOW_PLAINTEXT_AUTH=1 "
            "to accept that"
        )


class SmtpDeliveryError(Exception):
    """A message was not delivered.

    ``permanent`` is true when the server refused this message for good (a 5xx answer), so
    retrying it is pointless; ``connection`` is true when the server could not be reached or
    refused us altogether - then the message itself is not at fault and will be retried.
    """

    def __init__(self, reason: str, *, permanent: bool = False, connection: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.connection = connection


def _describe(exc: BaseException) -> str:
    """A short reason for an SMTP failure that cannot leak credentials."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"authentication failed ({exc.smtp_code})"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        return f"recipient refused ({', '.join(str(c) for c in codes)})"
    if isinstance(exc, smtplib.SMTPResponseException):
        raw = exc.smtp_error
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        return f"server answered {exc.smtp_code}: {text[:200]}"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    return type(exc).__name__ + (f": {exc.strerror}" if isinstance(exc, OSError) and exc.strerror else "")


class SmtpConnection:
    """One open session with the mail server, reused for a batch of messages.

    Opening is lazy-free on purpose: :meth:`open` either connects and logs in or raises
    :class:`SmtpDeliveryError` with ``connection=True``, so the caller can leave every row queued.
    """

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._client: smtplib.SMTP | None = None

    def open(self) -> SmtpConnection:
        cfg = self.config
        where = f"SMTP server {cfg.host}:{cfg.port}"
        try:
            client: smtplib.SMTP
            if cfg.security is SmtpSecurity.SSL:
                client = smtplib.SMTP_SSL(
                    cfg.host, cfg.port, timeout=cfg.timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            try:
                client.ehlo()
                if cfg.security is SmtpSecurity.STARTTLS:
                    client.starttls(context=ssl.create_default_context())
                    client.ehlo()
                if cfg.username:
                    client.login(cfg.username, cfg.password or "")
            except BaseException:
                _quietly_close(client)
                raise
        except smtplib.SMTPAuthenticationError as exc:
            raise SmtpDeliveryError(f"{where}: {_describe(exc)}", connection=True) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise SmtpDeliveryError(f"{where} unreachable: {_describe(exc)}", connection=True) from None
        self._client = client
        return self

    def send(self, message: EmailMessage) -> None:
        """Deliver one message; raise :class:`SmtpDeliveryError` saying whether to retry."""
        if self._client is None:
            raise RuntimeError("SmtpConnection.send() before open()")
        try:
            refused = self._client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            permanent = all(code >= 500 for code, _ in exc.recipients.values())
            raise SmtpDeliveryError(_describe(exc), permanent=permanent) from None
        except smtplib.SMTPResponseException as exc:
            raise SmtpDeliveryError(_describe(exc), permanent=exc.smtp_code >= 500) from None
        except smtplib.SMTPServerDisconnected as exc:
            self._client = None
            raise SmtpDeliveryError(f"server disconnected: {_describe(exc)}", connection=True) from None
        except (OSError, smtplib.SMTPException) as exc:
            self._client = None
            raise SmtpDeliveryError(_describe(exc), connection=True) from None
        if refused:
            raise SmtpDeliveryError(f"recipient refused ({len(refused)})", permanent=True)

    @property
    def is_open(self) -> bool:
        return self._client is not None

    def close(self) -> None:
        if self._client is not None:
            _quietly_close(self._client)
            self._client = None

    def __enter__(self) -> SmtpConnection:
        return self.open()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _quietly_close(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()


def deliver(config: SmtpConfig, message: EmailMessage) -> None:
    """Send a single message on its own connection (the outbox sender batches instead)."""
    with SmtpConnection(config) as conn:
        conn.send(message)
