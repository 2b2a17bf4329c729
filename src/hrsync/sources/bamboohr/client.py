"""BambooHR's HTTP client: the shared :class:`~hrsync.sources.rest.client.RestClient` with BambooHR's
authentication (HTTP Basic, the API key as the user name and ``x`` as the password, as BambooHR's SDK
sends it) and its own wording of a refused request. BambooHR's errors have an empty body and say why
in the ``X-BambooHR-Error-Message`` header.

The API key is only ever in the ``Authorization`` header of the pooled client, never in a message,
a log line or ``repr``.
"""

from __future__ import annotations

import base64
from typing import Final

import httpx

from hrsync.sources.base import AuthError, SourceError
from hrsync.sources.rest.client import RestClient

SERVICE: Final = "BambooHR"
BASE_URL_SETTING: Final = "HRSYNC_BAMBOOHR_BASE_URL"
KEY_HELP: Final = "create a new key in BambooHR (your name, top right → API Keys → Add New Key) and re-authorize"


def _detail(response: httpx.Response) -> str:
    return (response.headers.get("X-BambooHR-Error-Message") or "").strip()[:200]


class BambooClient(RestClient):
    """A keep-alive client for one BambooHR company, safe to share between threads."""

    service = SERVICE
    base_url_setting = BASE_URL_SETTING
    wrong_server_code = "not_bamboohr"

    def __init__(self, *, base_url: str, company: str, api_key: str, timeout: float, concurrency: int) -> None:
        token = base64.b64encode(f"{api_key}:x".encode()).decode("ascii")
        super().__init__(
            base_url=f"{base_url.rstrip('/')}/{company}/v1",
            headers={"Authorization": f"Basic {token}", "User-Agent": "hrsync-bamboohr/1"},
            timeout=timeout,
            concurrency=concurrency,
        )
        self.company = company

    def __repr__(self) -> str:
        return f"BambooClient(base_url={self.base_url!r})"

    def _auth_error(self, response: httpx.Response, content: bytes, name: str) -> SourceError:
        company = self.company
        if response.status_code == 401:
            return AuthError(f"BambooHR refused the API key for the company '{company}': {KEY_HELP}",
                             code="bad_key", request=name)
        detail = _detail(response)
        return AuthError(
            f"BambooHR refused access to the company '{company}' (HTTP 403"
            + (f": {detail}" if detail else "")
            + "): the key's user may lack the permission to read employees, or BambooHR disabled API access for a "
            "while after repeated unknown keys; check the key's user in BambooHR, then re-authorize",
            code="bad_credentials", request=name)

    def _unexpected_status(self, response: httpx.Response, content: bytes, name: str) -> SourceError:
        detail = _detail(response)
        if response.status_code == 404 and "X-BambooHR-Error-Message" in response.headers:
            return SourceError(
                f"There is no BambooHR company '{self.company}': check the company domain (the part before "
                ".bamboohr.com) and re-authorize", code="unknown_company", request=name)
        if detail:
            return SourceError(f"BambooHR answered HTTP {response.status_code}: {detail}", code="bad_response",
                               request=name)
        return self._wrong_server(f"answered HTTP {response.status_code} and not like BambooHR", name)
