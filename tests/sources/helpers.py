"""Reading the simulator directly with httpx, as the independent yardstick for the connector."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import KEY, TENANT

HEADERS = {"Authorization": f"Bearer {KEY}", "Tenant": TENANT}


def raw_list(base_url: str, path: str = "people", **filters: str) -> list[dict[str, Any]]:
    """Every record of a list endpoint, paged sequentially (call it while no fault is set)."""
    out: list[dict[str, Any]] = []
    with httpx.Client(base_url=base_url + "/", headers=HEADERS, timeout=30) as client:
        page = 1
        while True:
            response = client.get(path, params={"page": page, "limit": 100, **filters})
            response.raise_for_status()
            body = response.json()
            out.extend(body["data"])
            if page >= body["meta"]["pagination"]["total_pages"]:
                return out
            page += 1
