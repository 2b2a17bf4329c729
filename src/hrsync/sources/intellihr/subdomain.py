"""The tenant subdomain, checked before it is ever sent anywhere.

The subdomain travels as the ``Tenant`` header; an administrator types it in the authorize modal.
Accepting only a DNS label keeps odd input (spaces, dots, a pasted URL) from reaching intelliHR
as a confusing "tenant not found", and gives the person a message about what they typed instead.
"""

from __future__ import annotations

import re

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def validate_subdomain(value: str) -> str:
    """Return the subdomain lower-cased, or raise :class:`ValueError` saying what is wrong.

    A DNS label: 1-63 characters of ``a-z``, ``0-9`` and ``-``, not starting or ending with a hyphen.
    Surrounding whitespace is forgiven (it comes from copy and paste); anything else is not.
    """
    if not isinstance(value, str):
        raise ValueError("The intelliHR subdomain must be text, for example 'acme' for acme.intellihr.net.")
    text = value.strip().lower()
    if not text:
        raise ValueError(
            "The intelliHR subdomain is empty: enter the part before .intellihr.net, e.g. 'acme'."
        )
    if "." in text or "/" in text or ":" in text:
        raise ValueError(
            f"'{_shown(text)}' is not a subdomain: enter only the part before .intellihr.net, e.g. 'acme'."
        )
    if len(text) > 63:
        raise ValueError(f"The intelliHR subdomain is {len(text)} characters long; at most 63 are allowed.")
    if text.startswith("-") or text.endswith("-"):
        raise ValueError(f"The intelliHR subdomain '{_shown(text)}' must not start or end with a hyphen.")
    if not _LABEL.fullmatch(text):
        raise ValueError(
            f"The intelliHR subdomain '{_shown(text)}' may contain only letters a-z, digits and hyphens."
        )
    return text


def _shown(text: str) -> str:
    """Echo user input back, but never a wall of it."""
    return text if len(text) <= 70 else text[:67] + "..."
