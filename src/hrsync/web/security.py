"""The portal's sessions (server-side) and CSRF tokens (sign-in throttling: :mod:`hrsync.services.throttle`).

Sessions live in the database (``portal_session``, see :mod:`hrsync.lifecycle.sessions`): the
cookie carries only a random id (``hrsync_session`` for administrators, ``hrsync_member`` for
members), the row keeps its SHA-256, who is signed in and the session's small data (CSRF token,
flash messages). Signing out, a password change, "sign out everywhere" and an administrator's
deactivation end the row, so a copied cookie stops working at once in every process. Idle and
absolute timeouts are operator settings; ``last_seen_at`` is written at most once a minute.

A visitor who is not signed in still needs a CSRF token for the sign-in forms (and a flash after
signing out). That goes in a *signed anonymous cookie* (itsdangerous, key derived from the Fernet
keyring, valid 2 hours since the last page that used it) rather than in a row: a row per
anonymous visitor would let anyone grow the table by fetching ``/login`` in a loop. The anonymous
cookie holds no identity: who is signed in comes from rows only.

``request.session`` stays a dict for the pages: it is the signed-in administrator's row's data,
else the signed-in member's row's data, else the anonymous cookie's. The middleware is the only
code that writes these cookies: pages call :func:`begin_session` / :func:`end_current_session`.

Every cookie is ``HttpOnly`` and ``SameSite=Lax``, and ``Secure`` whenever the request arrived
over HTTPS or the public base URL (``HRSYNC_BASE_URL``) is https (a TLS-terminating proxy in
front), so the loopback demo on plain http still works.

Sign-in throttling is :mod:`hrsync.services.throttle`, kept in the database so it holds across
portal processes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hrsync.config import Settings, get_settings
from hrsync.lifecycle.sessions import (
    LAST_SEEN_RESOLUTION,
    SIGNED_OUT,
    LiveSession,
    end_session,
    load_sessions,
    policy,
    start_session,
    touch_session,
)
from hrsync.security.secrets import key_file_path, load_keyring
from hrsync.store.db import session_scope
from hrsync.store.enums import SessionKind
from hrsync.store.types import utcnow

SESSION_COOKIE = "hrsync_session"
MEMBER_COOKIE = "hrsync_member"
COOKIES = {SessionKind.ADMIN: SESSION_COOKIE, SessionKind.MEMBER: MEMBER_COOKIE}
ANONYMOUS_MAX_AGE = 2 * 60 * 60  # seconds a sign-in form's CSRF token stays good without a page view
ANONYMOUS_REFRESH = 5 * 60  # an anonymous cookie older than this is signed again when a page uses it
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
STATE_KEY = "hrsync.sessions"
# Paths that never use a portal session: no cookie is read or written, no query made.
SESSIONLESS_PREFIXES = ("/static/", "/api/v1/", "/api/docs/assets/")
_SESSION_LABEL = b"hrsync portal session cookie v1"

Clock = Callable[[], datetime]


def session_signing_key(settings: Settings | None = None) -> bytes:
    """A key for signing cookies, derived from the newest Fernet key (never the key itself)."""
    settings = settings or get_settings()
    load_keyring(settings)  # validates the configuration and creates the key file on first use
    raw = settings.secret_key or key_file_path(settings).read_text(encoding="ascii")
    newest = next(part.strip() for part in raw.replace("\n", ",").split(",") if part.strip())
    return hmac.new(newest.encode("ascii"), _SESSION_LABEL, hashlib.sha256).digest()


@dataclass
class SessionState:
    """What one request knows of its sessions; pages change it through :func:`begin_session` and
    :func:`end_current_session`, the middleware writes rows and cookies from it."""

    now: datetime
    live: dict[SessionKind, LiveSession] = field(default_factory=dict)
    started: dict[SessionKind, tuple[str, LiveSession]] = field(default_factory=dict)
    ended: set[SessionKind] = field(default_factory=set)

    def current(self, kind: SessionKind) -> LiveSession | None:
        """The live session of this kind at this point of the request (started here or loaded)."""
        if kind in self.started:
            return self.started[kind][1]
        if kind in self.ended:
            return None
        return self.live.get(kind)

    def store(self) -> LiveSession | None:
        """Where ``request.session``'s data lives: the administrator's row, else the member's."""
        return self.current(SessionKind.ADMIN) or self.current(SessionKind.MEMBER)


def session_state(request: Request | HTTPConnection) -> SessionState:
    state = request.scope.get(STATE_KEY)
    if not isinstance(state, SessionState):  # a sessionless path
        state = SessionState(now=utcnow())
        request.scope[STATE_KEY] = state
    return state


def _client(request: Request) -> tuple[str | None, str | None]:
    return (request.client.host if request.client else None), request.headers.get("user-agent")


def begin_session(
    request: Request, db: Session, kind: SessionKind, *, admin_id: int | None = None, member_id: int | None = None
) -> None:
    """Sign someone in: a new row and a new id (the cookie is set when the response leaves). A
    session of the same kind already in this browser ends first: an id is never reused."""
    state = session_state(request)
    previous = state.current(kind)
    if previous is not None:
        end_session(db, previous.id, "replaced", now=state.now)
    address, agent = _client(request)
    raw, live = start_session(db, kind, admin_id=admin_id, member_id=member_id, now=state.now,
                              client_address=address, user_agent=agent)
    state.started[kind] = (raw, live)
    state.ended.discard(kind)


def end_current_session(request: Request, db: Session | None, kind: SessionKind, reason: str = SIGNED_OUT) -> None:
    """Sign this browser out (``db`` None: only forget it here, e.g. when the rows were ended
    elsewhere or the request will roll back)."""
    state = session_state(request)
    live = state.current(kind)
    if live is not None and db is not None:
        end_session(db, live.id, reason, now=state.now)
    state.started.pop(kind, None)
    state.ended.add(kind)


def _secure(scope: Scope) -> bool:
    return scope.get("scheme") in ("https", "wss") or get_settings().base_url.strip().lower().startswith("https://")


class SessionMiddleware:
    """Loads ``scope["session"]`` (a dict) from the session rows or the anonymous cookie and
    writes rows and cookies back when the response starts."""

    def __init__(self, app: ASGIApp, *, secret: bytes) -> None:
        self.app = app
        self.anonymous = URLSafeTimedSerializer(secret, salt="hrsync.anonymous-session")

    def _clock(self, scope: Scope) -> Clock:
        app = scope.get("app")
        clock = getattr(getattr(app, "state", None), "session_clock", None)
        return clock if callable(clock) else utcnow

    def _load_anonymous(self, value: str) -> tuple[dict[str, Any], float | None]:
        try:
            loaded, signed_at = self.anonymous.loads(value, max_age=ANONYMOUS_MAX_AGE, return_timestamp=True)
        except BadSignature:
            return {}, None
        if not isinstance(loaded, dict):
            return {}, None
        return loaded, signed_at.timestamp()

    @staticmethod
    def _load(raws: dict[SessionKind, str], now: datetime) -> dict[SessionKind, LiveSession]:
        with session_scope() as db:
            return load_sessions(db, raws, now=now)

    @staticmethod
    def _write(writes: list[tuple[LiveSession, dict[str, Any] | None]], now: datetime) -> None:
        with session_scope() as db:
            for live, data in writes:
                touch_session(db, live, now=now, data=data)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if str(scope.get("path", "")).startswith(SESSIONLESS_PREFIXES):
            scope["session"] = {}
            await self.app(scope, receive, send)
            return
        now = self._clock(scope)()
        connection = HTTPConnection(scope)
        admin_raw = connection.cookies.get(SESSION_COOKIE, "")
        member_raw = connection.cookies.get(MEMBER_COOKIE, "")
        anonymous: dict[str, Any] = {}
        signed_at: float | None = None
        raws: dict[SessionKind, str] = {}
        if "." in admin_raw:  # a signed anonymous cookie; a session id never has a dot
            anonymous, signed_at = self._load_anonymous(admin_raw)
        elif admin_raw:
            raws[SessionKind.ADMIN] = admin_raw
        if member_raw and "." not in member_raw:
            raws[SessionKind.MEMBER] = member_raw
        state = SessionState(now=now, live=await run_in_threadpool(self._load, raws, now) if raws else {})
        store = state.store()
        scope["session"] = dict(store.data if store is not None else anonymous)
        scope[STATE_KEY] = state

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                await self._finish(scope, state, headers, admin_raw=admin_raw, member_raw=member_raw,
                                   anonymous=anonymous, signed_at=signed_at)
            await send(message)

        await self.app(scope, receive, send_wrapper)

    async def _finish(self, scope: Scope, state: SessionState, headers: MutableHeaders, *, admin_raw: str,
                      member_raw: str, anonymous: dict[str, Any], signed_at: float | None) -> None:
        session: MutableMapping[str, Any] = scope["session"]
        data = dict(session)
        store = state.store()
        now = state.now
        writes: list[tuple[LiveSession, dict[str, Any] | None]] = []
        for kind in (SessionKind.ADMIN, SessionKind.MEMBER):
            live = state.current(kind)
            if live is None:
                continue
            payload = data if live is store and data != live.data else None
            if payload is not None or now - live.last_seen_at >= LAST_SEEN_RESOLUTION:
                writes.append((live, payload))
        if writes:
            await run_in_threadpool(self._write, writes, now)

        flags = "; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if _secure(scope) else "")
        for kind, raw in ((SessionKind.ADMIN, admin_raw), (SessionKind.MEMBER, member_raw)):
            name = COOKIES[kind]
            if kind in state.started:
                max_age = int(policy(kind).absolute.total_seconds())
                headers.append("Set-Cookie", f"{name}={state.started[kind][0]}; Max-Age={max_age}{flags}")
            elif state.current(kind) is not None:
                continue
            elif kind == SessionKind.ADMIN and store is None and data:
                stale = signed_at is None or time.time() - signed_at >= ANONYMOUS_REFRESH
                if data != anonymous or stale:
                    value = self.anonymous.dumps(data)
                    headers.append("Set-Cookie", f"{name}={value}; Max-Age={ANONYMOUS_MAX_AGE}{flags}")
            elif raw:
                headers.append("Set-Cookie", f"{name}=; Max-Age=0{flags}")


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
