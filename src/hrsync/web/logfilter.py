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
import re
from typing import Any

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
# The token segment runs to the next "/", "?", "#", quote or blank (an encoded or over-long token too).
_TOKEN_SEGMENT = re.compile("(" + "|".join(re.escape(p) for p in _PREFIXES) + r")[^/?#\s\"']+")
# The query-string form of a link (``/member/set-password?token=...``).
_TOKEN_QUERY = re.compile(r"([?&]token=)[^&#\s\"']+", re.IGNORECASE)


def redact_token_paths(text: str) -> str:
    """``text`` with the token of every single-use link (in its path or its query) replaced by ``…``."""
    text = _TOKEN_SEGMENT.sub(lambda m: m.group(1) + REDACTED, text)
    return _TOKEN_QUERY.sub(lambda m: m.group(1) + REDACTED, text)


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
