"""The portal addresses e-mails point at.

These paths are a contract with the portal (``hrsync.web``): it must serve each of them. Keeping
them in one module means an e-mail can never link to a page that was renamed.

Token links carry the raw single-use token in the path. Once a message is sent, the stored copy
is redacted (:func:`redact_token_links`) so the outbox table never keeps a usable link.
"""

from __future__ import annotations

import re

from hrsync.config import get_settings

# Member-facing pages.
MEMBER_SET_PASSWORD_PATH = "/welcome/{token}"  # noqa: S105 - invitation: choose a first password
MEMBER_RESET_PASSWORD_PATH = "/reset-password/{token}"  # noqa: S105
MEMBER_HOME_PATH = "/me"
# Admin portal.
ADMIN_RESET_PASSWORD_PATH = "/admin/reset-password/{token}"  # noqa: S105
ADMIN_ACCEPT_INVITE_PATH = "/admin/accept-invite/{token}"
RUN_PATH = "/integrations/{integration_id}/runs/{run_id}"

_TOKEN_LINK = re.compile(r"(/(?:welcome|reset-password|accept-invite)/)[A-Za-z0-9_\-]{16,}")
_TOKEN_VALUE = re.compile(r"(/(?:welcome|reset-password|accept-invite)/)([A-Za-z0-9_\-]{16,})")
REDACTED = "[link removed after sending]"


def base_url() -> str:
    return get_settings().base_url.rstrip("/")


def absolute(path: str) -> str:
    return f"{base_url()}{path}"


def member_set_password_url(raw_token: str) -> str:
    return absolute(MEMBER_SET_PASSWORD_PATH.format(token=raw_token))


def member_reset_password_url(raw_token: str) -> str:
    return absolute(MEMBER_RESET_PASSWORD_PATH.format(token=raw_token))


def admin_reset_password_url(raw_token: str) -> str:
    return absolute(ADMIN_RESET_PASSWORD_PATH.format(token=raw_token))


def admin_accept_invite_url(raw_token: str) -> str:
    return absolute(ADMIN_ACCEPT_INVITE_PATH.format(token=raw_token))


def member_home_url() -> str:
    return absolute(MEMBER_HOME_PATH)


def run_url(integration_id: int, run_id: int) -> str:
    return absolute(RUN_PATH.format(integration_id=integration_id, run_id=run_id))


def token_values(text: str | None) -> list[str]:
    """The raw tokens of the single-use links in ``text``."""
    return [m.group(2) for m in _TOKEN_VALUE.finditer(text or "")]


def redact_token_links(text: str | None) -> str | None:
    """Replace the token of every single-use link in ``text`` (the token itself is what grants access)."""
    if text is None:
        return None
    return _TOKEN_LINK.sub(lambda m: m.group(1) + REDACTED, text)
