"""``POST /hooks/intellihr/{token}``: intelliHR's webhook deliveries (issue 16).

No session, no CSRF (intelliHR cannot have either), a small body limit. The token in the path is the
only credential: unknown → 404 (the same answer as any missing page, so a guesser learns nothing);
known → the body is parsed only then (400 if it is not a JSON document), 202 at once, and the delivery
is queued as a hint (:func:`hrsync.services.webhooks.receive`).
The payload is never trusted: the worker re-fetches the person it names with the stored key. The
token is redacted from the access log (:mod:`hrsync.web.logfilter`).
"""

from __future__ import annotations

import json
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from hrsync.services import webhooks
from hrsync.store.db import session_scope

router = APIRouter(include_in_schema=False)

#: A delivery is a few hundred bytes; anything far larger is not one.
MAX_BODY: Final = 64 * 1024


async def _body(request: Request) -> bytes | None:
    """The body, or None past :data:`MAX_BODY` (read no further)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class BadBody(ValueError):
    """The body is not a JSON document (broken, empty, or nested past what the parser allows)."""


def parse(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise BadBody from None


def _receive(token: str, body: bytes) -> bool | None:
    """Check the token, then (only then) parse the body and queue the hint; ``None`` for an unknown
    token. Raises :class:`BadBody` for a known token's unreadable body."""
    with session_scope() as session:  # committed before the answer leaves: the worker sees the hint
        if not webhooks.known_token(session, token):
            return None
        return webhooks.receive(session, token, parse(body))


@router.post(webhooks.HOOK_PATH + "{token}")
async def delivery(token: str, request: Request) -> Response:
    body = await _body(request)
    if body is None:
        return JSONResponse({"error": "the body is too large"}, status_code=413)
    try:
        queued = await run_in_threadpool(_receive, token, body)
    except BadBody:
        return JSONResponse({"error": "the body is not a JSON document"}, status_code=400)
    if queued is None:
        return JSONResponse({"error": "not found"}, status_code=404)
    return JSONResponse({"queued": queued}, status_code=202)
