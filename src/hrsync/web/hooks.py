"""``POST /hooks/intellihr/{token}``: intelliHR's webhook deliveries (issue 16).

No session, no CSRF (intelliHR cannot have either), a small body limit. The token in the path is the
only credential: unknown → 404 (the same answer as any missing page, so a guesser learns nothing);
known → 202 at once, and the delivery is queued as a hint (:func:`hrsync.services.webhooks.receive`).
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


def _receive(token: str, payload: Any) -> bool | None:
    with session_scope() as session:  # committed before the answer leaves: the worker sees the hint
        return webhooks.receive(session, token, payload)


@router.post(webhooks.HOOK_PATH + "{token}")
async def delivery(token: str, request: Request) -> Response:
    body = await _body(request)
    if body is None:
        return JSONResponse({"error": "the body is too large"}, status_code=413)
    try:
        payload: Any = json.loads(body) if body.strip() else None
    except ValueError:
        payload = None
    queued = await run_in_threadpool(_receive, token, payload)
    if queued is None:
        return JSONResponse({"error": "not found"}, status_code=404)
    return JSONResponse({"queued": queued}, status_code=202)
