"""Request body size limits, enforced before anything reads the body (the CSRF check parses forms).

A request declaring a ``Content-Length`` over the limit is answered 413 at once, its body unread. A
body without one (``Transfer-Encoding: chunked``) is counted as it arrives and refused the moment it
passes the limit. The membership-file upload routes allow the largest accepted file
(``HRSYNC_FILE_MAX_BYTES``) plus room for the multipart envelope; the upload service then gives its
own, friendlier "file too large" message for a file between the two. Everything else allows
``HRSYNC_MAX_BODY_BYTES`` (1 MiB: a sign-in form or a JSON call is a few kilobytes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Routes that accept a membership file (``web/wizard_file.py``): POST only.
UPLOAD_PATHS: tuple[re.Pattern[str], ...] = (
    re.compile(r"^/integrations/\d+/setup/file$"),
    re.compile(r"^/integrations/\d+/upload$"),
)
#: Room for the multipart boundaries, part headers and the form's other fields around an upload.
MULTIPART_ALLOWANCE = 64 * 1024


class BodyTooLargeError(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit; also an HTTP 413 for the app's handlers."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request is larger than this address accepts ({limit:,} bytes).")


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int, upload_max_bytes: int,
                 upload_paths: Iterable[re.Pattern[str]] = UPLOAD_PATHS) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_max_bytes = upload_max_bytes
        self.upload_paths = tuple(upload_paths)

    def limit_for(self, scope: Scope) -> int:
        if scope.get("method") == "POST" and any(p.match(scope.get("path", "")) for p in self.upload_paths):
            return self.upload_max_bytes
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, send, limit)
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watching_send)
        except BodyTooLargeError:
            if started:
                raise
            await _refuse(scope, send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(scope: Scope, send: Send, limit: int) -> None:
    body = json.dumps({"detail": BodyTooLargeError(limit).detail}).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]})
    await send({"type": "http.response.body", "body": body})
