"""The portal's session cookie and CSRF tokens (sign-in throttling: :mod:`hrsync.services.throttle`).

Sessions are a signed cookie (itsdangerous), not a server-side table: the portal runs as several
processes in scale-out mode and the cookie needs no shared store. The signing key is *derived*
from the Fernet keyring that protects intelliHR keys (HMAC with a fixed label), so an operator
has one secret to manage and nothing is hard-coded; a keyring rotation signs everyone out, which
is what a rotation after a leak should do.

The cookie is ``HttpOnly`` and ``SameSite=Lax`` always, and ``Secure`` whenever the request
arrived over HTTPS (directly or as told by the proxy headers uvicorn trusts), so the loopback
demo on plain http still works.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import MutableMapping
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hrsync.config import Settings, get_settings
from hrsync.security.secrets import key_file_path, load_keyring

SESSION_COOKIE = "hrsync_session"
SESSION_MAX_AGE = 12 * 60 * 60  # seconds: a working day, then sign in again
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_SESSION_LABEL = b"hrsync portal session cookie v1"


def session_signing_key(settings: Settings | None = None) -> bytes:
    """A key for signing cookies, derived from the newest Fernet key (never the key itself)."""
    settings = settings or get_settings()
    load_keyring(settings)  # validates the configuration and creates the key file on first use
    raw = settings.secret_key or key_file_path(settings).read_text(encoding="ascii")
    newest = next(part.strip() for part in raw.replace("\n", ",").split(",") if part.strip())
    return hmac.new(newest.encode("ascii"), _SESSION_LABEL, hashlib.sha256).digest()


def password_fingerprint(password_hash: str | None) -> str:
    """A short value that changes when the password changes: sessions made before a reset die."""
    return hashlib.sha256((password_hash or "").encode("utf-8")).hexdigest()[:16]


class SessionMiddleware:
    """Loads ``scope["session"]`` (a dict) from the signed cookie and writes it back when changed."""

    def __init__(self, app: ASGIApp, *, secret: bytes, max_age: int = SESSION_MAX_AGE) -> None:
        self.app = app
        self.max_age = max_age
        self.serializer = URLSafeTimedSerializer(secret, salt="hrsync.session")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        initial: dict[str, Any] = {}
        cookie = connection.cookies.get(SESSION_COOKIE)
        if cookie:
            try:
                loaded = self.serializer.loads(cookie, max_age=self.max_age)
                if isinstance(loaded, dict):
                    initial = loaded
            except BadSignature:
                initial = {}
        scope["session"] = dict(initial)
        before = json.dumps(initial, sort_keys=True)
        secure = scope.get("scheme") in ("https", "wss")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                session: MutableMapping[str, Any] = scope["session"]
                after = json.dumps(dict(session), sort_keys=True)
                headers = MutableHeaders(scope=message)
                flags = "; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")
                if session and after != before:
                    value = self.serializer.dumps(dict(session))
                    headers.append("Set-Cookie", f"{SESSION_COOKIE}={value}; Max-Age={self.max_age}{flags}")
                elif not session and initial:
                    headers.append("Set-Cookie", f"{SESSION_COOKIE}=; Max-Age=0{flags}")
            await send(message)

        await self.app(scope, receive, send_wrapper)


# ------------------------------------------------------------------------------------------------
# CSRF: one random token per session, compared in constant time
# ------------------------------------------------------------------------------------------------


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's CSRF token, created on first use."""
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 20:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok(session: MutableMapping[str, Any], submitted: str | None) -> bool:
    expected = session.get("csrf")
    if not isinstance(expected, str) or not submitted:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), submitted.encode("utf-8"))
