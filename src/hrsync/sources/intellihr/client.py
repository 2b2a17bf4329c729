"""intelliHR's HTTP client: the shared :class:`~hrsync.sources.rest.client.RestClient` with intelliHR's
headers (a bearer key and the ``Tenant`` header) and its own wording of a refused request.

The API key is only ever in the ``Authorization`` header of the pooled client, never in a message,
a log line or ``repr``.
"""

from __future__ import annotations

import re
from typing import Final

import httpx

from hrsync.sources.base import AuthError, SourceError
from hrsync.sources.rest.client import MAX_RESPONSE_BYTES, RestClient

__all__ = ["KEY_HELP", "MAX_RESPONSE_BYTES", "SERVICE", "IntelliHRClient"]

SERVICE: Final = "intelliHR"
KEY_HELP: Final = "create a new key under Settings → Public API Access Keys and re-authorize"
_TENANT_UNKNOWN = re.compile(r"tenant\b.*\b(not found|unknown|does not exist)|unknown tenant|no such tenant")


class IntelliHRClient(RestClient):
    """A keep-alive client for one intelliHR tenant, safe to share between the pager's threads."""

    service = SERVICE
    base_url_setting = "HRSYNC_INTELLIHR_BASE_URL"
    wrong_server_code = "not_intellihr"

    def __init__(self, *, base_url: str, tenant: str, api_key: str, timeout: float, concurrency: int) -> None:
        super().__init__(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}", "Tenant": tenant, "User-Agent": "hrsync-intellihr/1"},
            timeout=timeout,
            concurrency=concurrency,
        )
        self.tenant = tenant

    def __repr__(self) -> str:
        return f"IntelliHRClient(base_url={self.base_url!r}, tenant={self.tenant!r})"

    def _auth_error(self, response: httpx.Response, content: bytes, name: str) -> SourceError:
        body = self._error_body(content)
        if body is None:
            return self._wrong_server(f"refused the request (HTTP {response.status_code}) without an "
                                      "intelliHR error body", name)
        message = str(body.get("message") or "").lower()
        tenant = self.tenant
        if response.status_code == 401:
            return AuthError(
                f"intelliHR refused the API key for the account '{tenant}' (missing or malformed): {KEY_HELP}",
                code="bad_key",
                request=name,
            )
        if f"'{tenant}'" in message or f'"{tenant}"' in message or _TENANT_UNKNOWN.search(message):
            return AuthError(
                f"There is no intelliHR account '{tenant}': check the subdomain (the part before .intellihr.net) "
                "and re-authorize",
                code="unknown_tenant",
                request=name,
            )
        if "key" in message or "token" in message:
            return AuthError(
                f"intelliHR refused the API key for the account '{tenant}': {KEY_HELP}",
                code="bad_key",
                request=name,
            )
        return AuthError(
            f"intelliHR refused access to the account '{tenant}' (HTTP 403): check the subdomain and the key, "
            "then re-authorize",
            code="bad_credentials",
            request=name,
        )
