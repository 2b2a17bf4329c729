"""One HTTP conversation with a REST API: auth headers, retries within the budget, error meaning.

Shared by every REST source (each subclasses :class:`RestClient`): a source gives the service's
name, its base-URL setting, its headers and, where it knows better, its own wording of a refused
request (:meth:`RestClient._auth_error`).

Everything that turns "what the wire said" into "what hrsync should do" lives here, as a small
table: 401/403 stop at once (retrying cannot fix a refused key); 429 and 500/502/503/504, timeouts
and dropped connections are transient and retried with jittered back-off, honouring ``Retry-After``;
a body cut off mid-JSON is retried a couple of times, then fails; any other answer is a clear
:class:`SourceError` naming the request.

Bounds (each a clean :class:`SourceError`, never an uncaught exception): a body is read streamed
and abandoned as soon as it passes :data:`MAX_RESPONSE_BYTES` (``response_too_large``); JSON nested
deeper than the parser's recursion limit is ``too_deeply_nested``; neither is retried, the same
request would get the same answer. Every attempt's timeout is clipped to what is left of the read's
:class:`~.budget.Deadline` and the body is abandoned between two chunks when it passes or the read
is cancelled, so no request outlives the read it belongs to. The API key is only ever in the ``Authorization`` header
of the pooled client, never in a message, a log line or ``repr``.
"""

from __future__ import annotations

import json
import logging
import random
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any, Final, Generic, TypeVar

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception

from hrsync.sources.base import AuthError, SourceError
from hrsync.sources.rest.budget import RetryBudget
from hrsync.sources.rest.retry_after import parse_retry_after

log = logging.getLogger(__name__)

RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
MALFORMED_RETRIES: Final = 2
"""A page cut off mid-document is usually a dropped connection: try it twice more, then fail."""
MAX_RESPONSE_BYTES: Final = 32 * 1024 * 1024
"""A 100-person page is a few hundred KB even with every custom field; 32 MiB is generous and still
keeps a runaway or hostile answer from filling the worker's memory."""
UNDECODED: Final = object()
"""What a fast decoder answers for a body it will not vouch for: read it with the general decoder."""
BACKOFF_FIRST: Final = 0.5
BACKOFF_CAP: Final = 30.0


class Transient(Exception):
    """A failure worth retrying. ``kind``: rate_limited | server_error | timeout | connect | transport |
    malformed."""

    def __init__(self, what: str, *, kind: str, retry_after: float | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.kind = kind
        self.retry_after = retry_after


class _CallState:
    """What one logical request remembers across its attempts."""

    __slots__ = ("attempt_started", "entered", "malformed")

    def __init__(self) -> None:
        self.attempt_started = 0.0
        self.entered = False
        self.malformed = 0


class RestClient:
    """A keep-alive ``httpx.Client`` for one account of a service, safe to share between the pager's threads.

    ``service`` names the service in messages; ``base_url_setting`` is the operator
    setting to check when the server does not answer like it; ``wrong_server_code`` is the failure
    code for that case.
    """

    service: str = "the source"
    base_url_setting: str = "the source's base URL"
    wrong_server_code: str = "wrong_server"

    def __init__(
        self, *, base_url: str, headers: dict[str, str], timeout: float, concurrency: int
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.host = httpx.URL(self.base_url).host or self.base_url
        pool = max(1, concurrency) + 1
        self._http = httpx.Client(
            base_url=self.base_url + "/",
            headers={"Accept": "application/json", **headers},
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
            follow_redirects=False,  # a redirect to another host must not take the key with it
            verify=_tls_context(),
        )
        self._rng = random.Random()
        self._rng_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"  # never the headers: they hold the key

    def close(self) -> None:
        self._http.close()

    # -- the request loop ------------------------------------------------------------------------

    def get_json(
        self,
        path: str,
        *,
        budget: RetryBudget,
        params: dict[str, str | int] | None = None,
        label: str | None = None,
        retry_connect: bool = True,
        decode: Callable[[bytes], Any] | None = None,
    ) -> Any:
        """GET ``path`` (relative to the base URL) and return the parsed JSON body (see :meth:`request_json`)."""
        return self.request_json("GET", path, budget=budget, params=params, label=label,
                                 retry_connect=retry_connect, decode=decode)

    def post_json(
        self,
        path: str,
        body: Any,
        *,
        budget: RetryBudget,
        params: dict[str, str | int] | None = None,
        label: str | None = None,
        retry_connect: bool = True,
    ) -> Any:
        """POST ``body`` as JSON (``Content-Type: application/json``) to ``path`` and return the parsed JSON
        answer: for APIs that take a read's definition in the body (a report of chosen fields). Only for
        reads: it is retried like a GET."""
        return self.request_json("POST", path, budget=budget, params=params, label=label,
                                 retry_connect=retry_connect, json_body=body)

    def request_json(
        self,
        method: str,
        path: str,
        *,
        budget: RetryBudget,
        params: dict[str, str | int] | None = None,
        label: str | None = None,
        retry_connect: bool = True,
        decode: Callable[[bytes], Any] | None = None,
        json_body: Any = None,
    ) -> Any:
        """Send ``method`` to ``path`` (relative to the base URL) and return the parsed JSON body.

        Retries transient failures while ``budget`` lasts; raises :class:`AuthError` for a refused
        key or account and :class:`SourceError` for everything else that cannot be read.
        ``retry_connect=False`` reports a refused connection at once (``check()`` wants that).
        ``decode`` is a fast decoder for a successful body (a source's own); a body
        it answers :data:`UNDECODED` for is parsed the general way, which judges it.
        """
        name = label or f"{method} /{path.lstrip('/')}"
        state = _CallState()

        deadline = budget.deadline

        def attempt() -> Any:
            if deadline.passed:
                raise deadline.error(name)
            if budget.cancelled:
                raise SourceError("the read was cancelled", code="cancelled", request=name)
            state.attempt_started = time.monotonic()
            return self._attempt(path.lstrip("/"), params, name, state, budget, decode, method, json_body)

        def should_retry(exc: BaseException) -> bool:
            return isinstance(exc, Transient) and (retry_connect or exc.kind != "connect")

        def after(retry_state: RetryCallState) -> None:
            if not state.entered:
                state.entered = True
                budget.enter(since=state.attempt_started)

        def stop(retry_state: RetryCallState) -> bool:
            return (
                budget.cancelled
                or budget.spent() + retry_state.upcoming_sleep > budget.total
                or retry_state.upcoming_sleep >= deadline.left()
            )

        def give_up(retry_state: RetryCallState) -> Any:
            exc = _outcome_exception(retry_state)
            if budget.cancelled:
                raise SourceError("the read was cancelled", code="cancelled", request=name)
            if retry_state.upcoming_sleep >= deadline.left() and budget.spent() < budget.total:
                raise deadline.error(name)
            raise self._budget_error(exc, budget, name)

        def before_sleep(retry_state: RetryCallState) -> None:
            exc = _outcome_exception(retry_state)
            log.warning(
                "%s %s: %s; retrying in %.1f s (attempt %d, %.1f s of %.0f s retry budget used)",
                self.service, name, exc.what, retry_state.upcoming_sleep, retry_state.attempt_number,
                budget.spent(), budget.total,
            )

        retrying = Retrying(
            retry=retry_if_exception(should_retry),
            wait=self._wait,
            stop=stop,
            after=after,
            before_sleep=before_sleep,
            retry_error_callback=give_up,
            sleep=budget.sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except Transient as exc:  # not retried: a refused connection during check()
            code = "unreachable" if exc.kind == "connect" else "unavailable"
            raise SourceError(self._unreachable_reason(exc), code=code, request=name) from None
        finally:
            if state.entered:
                budget.leave()

    def _wait(self, retry_state: RetryCallState) -> float:
        exc = _outcome_exception(retry_state)
        with self._rng_lock:
            if exc.retry_after is not None:
                # Honour the server; a little jitter keeps the four threads from returning together.
                return exc.retry_after + self._rng.uniform(0.0, min(1.0, 0.1 * exc.retry_after + 0.05))
            if exc.kind == "malformed":
                return self._rng.uniform(0.1, 0.3)
            ceiling = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** (retry_state.attempt_number - 1))
            return self._rng.uniform(ceiling / 2, ceiling)

    # -- one attempt -----------------------------------------------------------------------------

    def _attempt(
        self,
        path: str,
        params: dict[str, str | int] | None,
        name: str,
        state: _CallState,
        budget: RetryBudget,
        decode: Callable[[bytes], Any] | None = None,
        method: str = "GET",
        json_body: Any = None,
    ) -> Any:
        deadline = budget.deadline
        timeout = min(self.timeout, max(0.001, deadline.left()))
        try:
            with self._http.stream(method, path, params=params, json=json_body,
                                   timeout=httpx.Timeout(timeout)) as response:
                content = self._read_capped(response, name, budget)
        except httpx.ConnectTimeout:
            if deadline.passed:
                raise deadline.error(name) from None
            what = f"no connection to {self.host} within {self.timeout:g} s"
            raise Transient(what, kind="connect") from None
        except httpx.ConnectError as exc:
            raise Transient(f"could not connect to {self.host} ({_short(exc)})", kind="connect") from None
        except httpx.TimeoutException:
            if deadline.passed:
                raise deadline.error(name) from None
            raise Transient(f"no answer within {self.timeout:g} s", kind="timeout") from None
        except httpx.RemoteProtocolError as exc:
            # The server closed the connection mid-answer: the same family as a cut-off page.
            self._count_malformed(state, name, "the connection was closed mid-answer")
            what = f"the connection was closed mid-answer ({_short(exc)})"
            raise Transient(what, kind="malformed") from None
        except httpx.TransportError as exc:
            raise Transient(f"the connection failed ({type(exc).__name__})", kind="transport") from None

        status = response.status_code
        if 200 <= status < 300:
            if decode is not None:
                body = decode(content)
                if body is not UNDECODED:
                    return body
            return self._parse(response, content, name, state)
        if status in (401, 403):
            raise self._auth_error(response, content, name)
        if status in RETRY_STATUSES:
            kind = "rate_limited" if status == 429 else "server_error"
            raise Transient(
                f"HTTP {status} {response.reason_phrase}".rstrip(),
                kind=kind,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        raise self._unexpected_status(response, content, name)

    def _read_capped(self, response: httpx.Response, name: str, budget: RetryBudget) -> bytes:
        """The (decoded) body, abandoned as soon as it passes the cap, the deadline or a cancel."""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
            raise self._too_large(name)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise self._too_large(name)
            if budget.deadline.passed:
                raise budget.deadline.error(name)
            if budget.cancelled:
                raise SourceError("the read was cancelled", code="cancelled", request=name)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, name: str) -> SourceError:
        return SourceError(
            f"{self.service} sent an answer larger than {MAX_RESPONSE_BYTES // (1024 * 1024)} MiB, far more "
            "than a page of people can be; the import stopped without changing anything",
            code="response_too_large",
            request=name,
        )

    def _parse(self, response: httpx.Response, content: bytes, name: str, state: _CallState) -> Any:
        head = content[:64].lstrip()
        if head and head[:1] not in (b"{", b"["):
            ctype = response.headers.get("Content-Type", "no content type").split(";")[0]
            raise self._wrong_server(f"did not answer like {self.service} (it sent {ctype}, not JSON)", name)
        try:
            return _loads(content)
        except RecursionError:
            raise SourceError(
                f"{self.service} sent JSON nested far deeper than any {self.service} answer; "
                "the import stopped without changing anything",
                code="too_deeply_nested",
                request=name,
            ) from None
        except ValueError:
            self._count_malformed(state, name, "an incomplete or malformed JSON answer")
            raise Transient("an incomplete or malformed JSON answer", kind="malformed") from None

    def _count_malformed(self, state: _CallState, name: str, what: str) -> None:
        state.malformed += 1
        if state.malformed > MALFORMED_RETRIES:
            raise SourceError(
                f"{self.service} sent {what} {state.malformed} times in a row; nothing was imported, "
                "try again later",
                code="malformed_response",
                request=name,
            )

    # -- turning answers into messages (a source's client words its own) ---------------------------

    def _auth_error(self, response: httpx.Response, content: bytes, name: str) -> SourceError:
        if self._error_body(content) is None:
            return self._wrong_server(f"refused the request (HTTP {response.status_code}) without an "
                                      f"{self.service} error body", name)
        return AuthError(f"{self.service} refused the credentials (HTTP {response.status_code}); re-authorize",
                         code="bad_key", request=name)

    def _error_body(self, content: bytes) -> dict[str, Any] | None:
        """The service's own error body (an object with ``name`` or ``message``), or None."""
        body = _json_or_none(content)
        return body if isinstance(body, dict) and ("name" in body or "message" in body) else None

    def _wrong_server(self, what: str, name: str) -> SourceError:
        return SourceError(f"the server at {self.host} {what}; check {self.base_url_setting}",
                           code=self.wrong_server_code, request=name)

    def _unexpected_status(self, response: httpx.Response, content: bytes, name: str) -> SourceError:
        body = self._error_body(content)
        status = response.status_code
        if body is not None:
            detail = str(body.get("message") or body.get("name") or "")[:200]
            reason = f"{self.service} answered HTTP {status}" + (f": {detail}" if detail else "")
            return SourceError(reason, code="bad_response", request=name)
        return self._wrong_server(f"answered HTTP {status} and not like {self.service}", name)

    def _unreachable_reason(self, exc: Transient) -> str:
        return f"{self.service} could not be reached at {self.host}: {exc.what}"

    def _budget_error(self, exc: Transient, budget: RetryBudget, name: str) -> SourceError:
        spent = budget.spent()
        remaining = budget.remaining()
        if exc.kind == "connect":
            return SourceError(
                f"{self.service} could not be reached at {self.host} for {_secs(spent)} ({exc.what}); "
                "the import stopped without changing anything",
                code="unreachable",
                request=name,
            )
        if exc.retry_after is not None and exc.retry_after > remaining:
            return SourceError(
                f"{self.service} kept rate-limiting ({exc.what}) and asked us to wait {_secs(exc.retry_after)}, "
                f"more than the {_secs(remaining)} left of this import's {_secs(budget.total)} retry "
                "budget; the import stopped without changing anything, try again later",
                code="rate_limited",
                request=name,
            )
        return SourceError(
            f"{self.service} kept failing or rate-limiting for {_secs(spent)} (last: {exc.what}); "
            "the import stopped without changing anything, try again later",
            code="unavailable",
            request=name,
        )


_TLS_LOCK = threading.Lock()
_TLS: ssl.SSLContext | None = None


ClientT = TypeVar("ClientT", bound=RestClient)


class LazyClient(Generic[ClientT]):
    """A source's one pooled client, made on first use and closed with the source, under a lock (a
    source's reads run on several threads): every REST source's ``_http()`` and ``close()``."""

    def __init__(self, make: Callable[[], ClientT]) -> None:
        self._make = make
        self._client: ClientT | None = None
        self._lock = threading.Lock()

    def get(self) -> ClientT:
        with self._lock:
            if self._client is None:
                self._client = self._make()
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def plausible_key(key: str) -> bool:
    """Whether an API key as pasted could be one: printable ASCII without spaces (checked before any
    request, so a key pasted with a line break or a stray word is refused with advice, not a 401)."""
    return bool(key) and key.isascii() and key.isprintable() and not any(c.isspace() for c in key)


def _tls_context() -> ssl.SSLContext:
    """One certificate store per process: loading it costs a quarter of a second on every client."""
    global _TLS
    with _TLS_LOCK:
        if _TLS is None:
            _TLS = httpx.create_ssl_context()
        return _TLS


def _outcome_exception(retry_state: RetryCallState) -> Transient:
    outcome = retry_state.outcome
    exc = outcome.exception() if outcome is not None else None
    if not isinstance(exc, Transient):  # pragma: no cover - the retry predicate only lets these through
        raise RuntimeError("retry without a transient failure")
    return exc


def _loads(content: bytes) -> Any:
    """``json.loads``; a document nested too deeply raises :class:`RecursionError`, caught by callers."""
    return json.loads(content)


def _json_or_none(content: bytes) -> Any:
    try:
        return _loads(content)
    except (ValueError, RecursionError):
        return None


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _secs(seconds: float) -> str:
    return f"{seconds:.1f} seconds" if seconds < 10 else f"{seconds:.0f} seconds"
