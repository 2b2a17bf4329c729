"""The tenant subdomain as people type it, normalised once, before it is ever sent anywhere.

The subdomain travels as the ``Tenant`` header; an administrator types it in the authorize modal or
passes it to ``hrsync integration add --subdomain``. intelliHR's own help article says the subdomain
"will be something like https://your-company.intelliHR.net", so people paste it that way. These are
all accepted, in any case and with surrounding whitespace, and become the bare tenant ``your-company``:

* ``your-company``
* ``your-company.intellihr.net``
* ``https://your-company.intelliHR.net`` or ``http://…``, with or without a trailing ``/``

Anything else naming a host is refused with one line saying what to type: another domain
(``evil.example.com``, ``your-company.intellihr.net.evil.test``), an IP address, a port, credentials
(``user:pass@…``), a path other than ``/``, a query or a fragment. Only ASCII is accepted, so a
look-alike character cannot lower-case its way into a different tenant.

This module is the one place the rule lives: the connector, the services (and so the CLI and the
wizard) and the wizard's live preview (:func:`preview`) all call it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

DOMAIN = "intellihr.net"
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_USERINFO = re.compile(r"^((?:[a-z][a-z0-9+.-]*://)?)[^/?#]*@", re.IGNORECASE)
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*)://")
_WHAT_TO_TYPE = "enter your intelliHR subdomain, e.g. 'your-company' for https://your-company.intellihr.net"


def address(tenant: str) -> str:
    """The intelliHR address of a (normalised) tenant."""
    return f"https://{tenant}.{DOMAIN}"


def validate_subdomain(value: object) -> str:
    """Return the bare lower-case tenant, or raise :class:`ValueError` with a one-line message.

    The message always says what to type instead.
    """
    if not isinstance(value, str):
        raise ValueError(f"The intelliHR subdomain must be text: {_WHAT_TO_TYPE}.")
    typed = value.strip()
    if not typed:
        raise ValueError(f"The intelliHR subdomain is empty: {_WHAT_TO_TYPE}.")
    shown = _shown(typed)
    if not typed.isascii() or not typed.isprintable():
        raise ValueError(f"'{shown}' has characters an intelliHR address cannot have: {_WHAT_TO_TYPE}.")
    text = typed.lower()
    scheme_match = _SCHEME.match(text)
    scheme = scheme_match.group(1) if scheme_match else None
    remainder = text[scheme_match.end():] if scheme_match else text
    if scheme is not None and scheme not in ("http", "https"):
        raise ValueError(f"'{shown}' is not an intelliHR web address: {_WHAT_TO_TYPE}.")
    if remainder.startswith("/"):
        raise ValueError(f"'{shown}' is not an intelliHR address: {_WHAT_TO_TYPE}.")
    cut = min((i for i in (remainder.find(c) for c in "/?#") if i >= 0), default=len(remainder))
    authority, rest = remainder[:cut], remainder[cut:]
    if "@" in authority:
        raise ValueError(f"'{shown}' contains a user name or password; never type those here: {_WHAT_TO_TYPE}.")
    if authority.startswith("[") or _is_ip(authority) or _is_ip(authority.split(":", 1)[0]):
        raise ValueError(f"'{shown}' is an IP address, not an intelliHR address: {_WHAT_TO_TYPE}.")
    if ":" in authority and authority.rsplit(":", 1)[1].isdigit():
        raise ValueError(f"'{shown}' has a port; intelliHR addresses have none: {_WHAT_TO_TYPE}.")
    if rest not in ("", "/"):
        path = rest.split("?", 1)[0].split("#", 1)[0]
        what = "a path" if path not in ("", "/") else "a query" if "?" in rest else "a fragment"
        raise ValueError(f"'{shown}' has {what} after the address; type only the address: {_WHAT_TO_TYPE}.")
    host = authority
    if host.endswith("." + DOMAIN):
        host = host[: -len(DOMAIN) - 1]
    elif "." in host or ":" in host or scheme is not None:
        raise ValueError(f"'{shown}' is not an intelliHR address (*.{DOMAIN}): {_WHAT_TO_TYPE}.")
    if not host:
        raise ValueError(f"The intelliHR subdomain is empty: {_WHAT_TO_TYPE}.")
    if len(host) > 63:
        raise ValueError(f"The intelliHR subdomain is {len(host)} characters long; at most 63 are allowed.")
    if host.startswith("-") or host.endswith("-"):
        raise ValueError(f"The intelliHR subdomain '{_shown(host)}' must not start or end with a hyphen: "
                         f"{_WHAT_TO_TYPE}.")
    if "." in host:
        raise ValueError(f"'{shown}' is not an intelliHR address (one name before .{DOMAIN}): {_WHAT_TO_TYPE}.")
    if not _LABEL.fullmatch(host):
        raise ValueError(f"The intelliHR subdomain '{_shown(host)}' may contain only letters a-z, digits and "
                         f"hyphens: {_WHAT_TO_TYPE}.")
    return host


@dataclass(frozen=True)
class Preview:
    """What the authorize form shows under the subdomain field as the person types."""

    ok: bool
    subdomain: str | None
    url: str
    reason: str | None


def preview(value: object) -> Preview:
    """The normalised address for ``value``, or the reason it is refused (never raises)."""
    if isinstance(value, str) and not value.strip():
        return Preview(ok=False, subdomain=None, url=address("your-company"), reason=None)
    try:
        tenant = validate_subdomain(value)
    except ValueError as exc:
        return Preview(ok=False, subdomain=None, url="", reason=str(exc))
    return Preview(ok=True, subdomain=tenant, url=address(tenant), reason=None)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _shown(text: str) -> str:
    """Echo user input back on one line, but never a wall of it, nor a user name or password in it."""
    text = _USERINFO.sub(r"\1…@", " ".join(text.split()))
    return text if len(text) <= 70 else text[:67] + "..."
