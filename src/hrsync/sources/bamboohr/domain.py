"""The company domain as people type it, normalised once, before it is ever sent anywhere.

BambooHR's documentation calls it the subdomain the account is reached at: ``mycompany`` for
``https://mycompany.bamboohr.com``. People paste it in any of these forms, in any case and with
surrounding whitespace, and each becomes the bare ``mycompany``:

* ``mycompany``
* ``mycompany.bamboohr.com``
* ``https://mycompany.bamboohr.com`` (or ``http://``), with or without a trailing ``/`` or a path
  (people copy the address bar: ``https://mycompany.bamboohr.com/home``)

Anything else naming a host is refused with one line saying what to type: another domain, an IP
address, a port, credentials, a query or a fragment. Only ASCII letters, digits and hyphens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOMAIN = "bamboohr.com"
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_WHAT_TO_TYPE = "enter your BambooHR company domain, e.g. 'mycompany' for https://mycompany.bamboohr.com"


def address(company: str) -> str:
    """The BambooHR address of a (normalised) company domain."""
    return f"https://{company}.{DOMAIN}"


def validate_company_domain(value: object) -> str:
    """The bare lower-case company domain, or :class:`ValueError` with one line saying what to type."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"The BambooHR company domain is empty: {_WHAT_TO_TYPE}.")
    typed = value.strip()
    shown = typed if len(typed) <= 60 else typed[:57] + "..."
    if not typed.isascii() or not typed.isprintable():
        raise ValueError(f"'{shown}' has characters a BambooHR address cannot have: {_WHAT_TO_TYPE}.")
    text = typed.lower()
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    elif scheme not in ("http", "https"):
        raise ValueError(f"'{shown}' is not a BambooHR web address: {_WHAT_TO_TYPE}.")
    host, _, tail = rest.partition("/")
    if "?" in host or "#" in host or "?" in tail or "#" in tail:
        raise ValueError(f"'{shown}' has a query or fragment; type only the address: {_WHAT_TO_TYPE}.")
    if "@" in host:
        raise ValueError(f"'{shown}' contains a user name or password; never type those here: {_WHAT_TO_TYPE}.")
    if ":" in host:
        raise ValueError(f"'{shown}' has a port; BambooHR addresses have none: {_WHAT_TO_TYPE}.")
    if tail and not scheme and not host.endswith("." + DOMAIN):
        raise ValueError(f"'{shown}' is not a BambooHR address: {_WHAT_TO_TYPE}.")
    if host.endswith("." + DOMAIN):
        host = host[: -len(DOMAIN) - 1]
    elif "." in host or scheme:
        raise ValueError(f"'{shown}' is not a BambooHR address (*.{DOMAIN}): {_WHAT_TO_TYPE}.")
    if not _LABEL.fullmatch(host) or host == "api":
        raise ValueError(f"'{shown}' is not a company domain (letters a-z, digits and inner hyphens, at most 63): "
                         f"{_WHAT_TO_TYPE}.")
    return host


@dataclass(frozen=True)
class Preview:
    """What the setup form shows under the company domain field as the person types."""

    ok: bool
    company_domain: str | None
    url: str
    reason: str | None


def preview(value: object) -> Preview:
    """The normalised address for ``value``, or the reason it is refused (never raises)."""
    if isinstance(value, str) and not value.strip():
        return Preview(ok=False, company_domain=None, url=address("mycompany"), reason=None)
    try:
        company = validate_company_domain(value)
    except ValueError as exc:
        return Preview(ok=False, company_domain=None, url="", reason=str(exc))
    return Preview(ok=True, company_domain=company, url=address(company), reason=None)
