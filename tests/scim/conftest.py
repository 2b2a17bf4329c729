"""A live ``hrsync serve`` with a SCIM integration made by ``hrsync integration add --source scim``,
on SQLite and on PostgreSQL, and an HTTP client that speaks to it as an identity provider does."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.sync.conftest import Install, database_url, install  # noqa: F401 - fixtures used here
from tests.web.conftest import PASSWORD, browser  # noqa: F401 - browser: a fixture for the portal tests
from tests.web.serve_process import ServeProcess, hrsync_serve

SCIM_JSON = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass
class Scim:
    install: Install
    served: ServeProcess
    integration_id: int
    token: str
    base_url: str  # where the client is pointed: the live server's /scim/v2

    def client(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=120.0, headers={
            "Authorization": f"Bearer {token or self.token}", "Content-Type": SCIM_JSON, "Accept": SCIM_JSON})

    def members(self) -> dict[str, dict[str, Any]]:
        return self.install.members()


def start_scim(install: Install, tmp_path: Path, *add: str, **env: str) -> Iterator[Scim]:  # noqa: F811
    """``add``: more options of ``hrsync integration add``; ``env``: more settings of ``hrsync serve``."""
    install.cli_json("programme", "add", "Acme", "--admin-email", "owner@acme.test", "--password", PASSWORD)
    created = install.cli_json("integration", "add", "--programme", "Acme", "--source", "scim", *add)
    logs = tmp_path / "logs"
    logs.mkdir()
    data_dir = Path(install.env["HRSYNC_DATA_DIR"])
    with hrsync_serve(data_dir, logs, HRSYNC_DATABASE_URL=install.url, **env) as served:
        yield Scim(install, served, int(created["id"]), created["token"], served.base_url + "/scim/v2")


@pytest.fixture
def scim(install: Install, tmp_path: Path) -> Iterator[Scim]:  # noqa: F811
    yield from start_scim(install, tmp_path)
