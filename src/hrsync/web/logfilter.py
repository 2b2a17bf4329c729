"""How ``hrsync serve`` (and the demo) run uvicorn: trusted proxies and an access log without tokens.

Single-use links carry their token in the path (``/welcome/<token>``, ``/reset-password/<token>``,
``/admin/reset-password/<token>``, ``/admin/accept-invite/<token>``: :mod:`hrsync.notify.links`;
and ``?token=`` in ``/member/set-password?token=...``).
uvicorn's access log writes every request line, so without :class:`RedactTokenPaths` anyone who
can read the logs (a log shipper, a support engineer) could use a link before its owner. The
filter replaces the token segment with ``…`` in every record of ``uvicorn.access`` and
``uvicorn.error``; the list of paths comes from the same constants the e-mails and the routes use.

:func:`uvicorn_options` is the one place the server's options are chosen, so ``hrsync serve``, the
demo and the tests start uvicorn identically. An operator who runs uvicorn by hand can pass
``--log-config`` a file written from :func:`uvicorn_log_config` (``docs/deploy.md``).
"""

from __future__ import annotations

import copy
import logging
import posixpath
import re
from typing import Any
from urllib.parse import unquote

from hrsync.config import Settings, get_settings
from hrsync.notify import links

#: Every portal path whose last segment is a single-use token (a test checks the routes against it).
TOKEN_PATHS = (
    links.MEMBER_SET_PASSWORD_PATH,
    links.MEMBER_RESET_PASSWORD_PATH,
    links.ADMIN_RESET_PASSWORD_PATH,
    links.ADMIN_ACCEPT_INVITE_PATH,
    "/hooks/intellihr/{token}",  # intelliHR webhook deliveries (hrsync.web.hooks; not a single-use link)
)
REDACTED = "…"
_PREFIXES = sorted({path.split("{token}", 1)[0] for path in TOKEN_PATHS}, key=len, reverse=True)
# After a token path's prefix, everything to the end of the path is redacted (to the "?", "#", quote or
# blank): the token's segment and whatever follows it, so "/hooks/intellihr/../<token>" hides it too.
_TOKEN_SEGMENT = re.compile("(" + "|".join(re.escape(p) for p in _PREFIXES) + r")[^?#\s\"']+", re.IGNORECASE)
# The query-string form of a link (``/member/set-password?token=...``).
_TOKEN_QUERY = re.compile(r"([?&]token=)[^&#\s\"']+", re.IGNORECASE)
# A path in a log line: from a "/" to the next blank or quote.
_PATH = re.compile(r"/[^\s\"']*")


def _redact_plain(text: str) -> str:
    text = _TOKEN_SEGMENT.sub(lambda m: m.group(1) + REDACTED, text)
    return _TOKEN_QUERY.sub(lambda m: m.group(1) + REDACTED, text)


def _normalised(path: str) -> str:
    """The path as a server or proxy would resolve it: percent-escapes decoded (twice over at most),
    repeated slashes collapsed, ``.`` and ``..`` segments resolved."""
    for _ in range(3):
        decoded = unquote(path)
        if decoded == path:
            break
        path = decoded
    head, sep, query = path.partition("?")
    return posixpath.normpath("/" + head.lstrip("/")) + sep + query


def _redact_path(raw: str) -> str:
    """One path: redacted as written, or, when its normalised form is a token path (``//hooks/...``,
    ``/x/../welcome/...``, ``/%77elcome/...``), logged as that form redacted (the raw spelling could hide
    the token in ways no pattern follows)."""
    normal = _normalised(raw)
    redacted_normal = _redact_plain(normal)
    if redacted_normal != normal:
        return redacted_normal
    return _redact_plain(raw)


def redact_token_paths(text: str) -> str:
    """``text`` with the token of every single-use link (in its path or its query) replaced by ``…``,
    in every path the text holds, whether written plainly or not (normalised first)."""
    return _PATH.sub(lambda m: _redact_path(m.group(0)), _redact_plain(text))


def _redact(value: Any) -> Any:
    return redact_token_paths(value) if isinstance(value, str) else value


class RedactTokenPaths(logging.Filter):
    """Rewrites a record's message and arguments so no single-use token reaches a log handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_token_paths(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _redact(value) for key, value in record.args.items()}
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration with :class:`RedactTokenPaths` on its loggers."""
    import uvicorn.config

    config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": f"{__name__}.RedactTokenPaths"}
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = config["loggers"].setdefault(name, {})
        logger["filters"] = [*logger.get("filters", []), "redact_tokens"]
    return config


def trusted_proxies(settings: Settings | None = None) -> list[str]:
    """``HRSYNC_TRUSTED_PROXIES`` as a list (addresses and networks, already validated)."""
    settings = settings or get_settings()
    return [part.strip() for part in settings.trusted_proxies.split(",") if part.strip()]


def uvicorn_options(settings: Settings | None = None) -> dict[str, Any]:
    """The keyword arguments of ``uvicorn.Config`` that ``hrsync serve`` and the demo use.

    ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed only from the trusted proxies:
    ``request.client.host`` is then the real client (what the sign-in throttle counts) and the
    scheme the one the browser used (what makes cookies Secure). From anyone else they are ignored.
    """
    return {
        "proxy_headers": True,
        "forwarded_allow_ips": trusted_proxies(settings),
        "log_config": uvicorn_log_config(),
    }


__all__ = ["REDACTED", "TOKEN_PATHS", "RedactTokenPaths", "redact_token_paths", "trusted_proxies",
           "uvicorn_log_config", "uvicorn_options"]
