"""Paging, limits, sorting and the list envelope of GET /v1/people, over real HTTP."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from hrsync.simulator import Simulator

from .conftest import all_people


def test_pages_cover_every_person_exactly_once_in_created_order(client: httpx.Client, sim: Simulator) -> None:
    people = all_people(client)
    ids = [p["id"] for p in people]
    assert len(ids) == 200 == len(set(ids))
    assert ids == [p["id"] for p in sim.directory.people()]
    created = [p["createdAt"] for p in people]
    assert created == sorted(created)


def test_pagination_meta_counts_pages(client: httpx.Client) -> None:
    body = client.get("/people", params={"limit": 30, "page": 7}).json()
    assert body["meta"]["pagination"] == {
        "total": 200,
        "count": 20,
        "per_page": 30,
        "current_page": 7,
        "total_pages": 7,
    }
    assert len(body["data"]) == 20
    assert len(body["meta"]["requestId"]) == 36


def test_default_limit_is_ten(client: httpx.Client) -> None:
    body = client.get("/people").json()
    assert len(body["data"]) == 10
    assert body["meta"]["pagination"]["per_page"] == 10


def test_links_omit_prev_on_first_page_and_next_on_last(client: httpx.Client, sim: Simulator) -> None:
    first = client.get("/people", params={"limit": 50}).json()["links"]
    assert "prev" not in first and "next" in first
    assert first["self"].startswith(sim.base_url + "/people?")
    assert parse_qs(urlsplit(first["next"]).query) == {"page": ["2"], "limit": ["50"]}
    assert parse_qs(urlsplit(first["last"]).query)["page"] == ["4"]
    last = client.get("/people", params={"limit": 50, "page": 4}).json()["links"]
    assert "next" not in last and parse_qs(urlsplit(last["prev"]).query)["page"] == ["3"]
    middle = client.get("/people", params={"limit": 50, "page": 2}).json()["links"]
    assert {"self", "first", "prev", "next", "last"} == set(middle)


def test_links_keep_filters_and_sort(client: httpx.Client) -> None:
    links = client.get(
        "/people", params={"limit": 5, "sort": "-createdAt", "filters[isOnExtendedLeave][eq]": "false"}
    ).json()["links"]
    query = parse_qs(urlsplit(links["next"]).query)
    assert query["sort"] == ["-createdAt"] and query["filters[isOnExtendedLeave][eq]"] == ["false"]


def test_following_next_links_reaches_everyone(client: httpx.Client) -> None:
    url: str | None = "/people?limit=45"
    seen: list[str] = []
    while url:
        body = client.get(url).json()
        seen.extend(p["id"] for p in body["data"])
        url = body["links"].get("next")
    assert len(seen) == 200 == len(set(seen))


def test_page_past_the_end_is_empty_not_an_error(client: httpx.Client) -> None:
    body = client.get("/people", params={"limit": 100, "page": 9}).json()
    assert body["data"] == [] and body["meta"]["pagination"]["count"] == 0
    assert body["meta"]["pagination"]["total"] == 200


def test_sort_descending_reverses_created_order(client: httpx.Client) -> None:
    ascending = [p["id"] for p in all_people(client)]
    descending = [p["id"] for p in all_people(client, sort="-createdAt")]
    assert descending == ascending[::-1]
    explicit = [p["id"] for p in all_people(client, sort="createdAt")]
    assert explicit == ascending


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"limit": -1}, "limit"),
        ({"page": 0}, "page"),
        ({"page": "x"}, "page"),
        ({"page": "1.5"}, "page"),
        ({"sort": "name"}, "sort"),
        ({"filters[colour][eq]": "red"}, "colour"),
        ({"filters[name][like]": "x"}, "eq"),
        ({"filters[updatedWithin][eq]": "soon"}, "updatedWithin"),
        ({"filters[isOnExtendedLeave][eq]": "maybe"}, "isOnExtendedLeave"),
    ],
)
def test_bad_query_is_400_with_documented_body(client: httpx.Client, params: dict[str, str | int], detail: str) -> None:
    response = client.get("/people", params=params)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"name", "message", "code", "errors"}
    assert body["code"] == 400 and body["name"] == "BadRequest"
    assert body["errors"] and detail in body["errors"][0]["detail"]
    assert isinstance(body["errors"][0]["code"], int)


def test_limits_at_the_edges_are_accepted(client: httpx.Client) -> None:
    assert len(client.get("/people", params={"limit": 1}).json()["data"]) == 1
    assert len(client.get("/people", params={"limit": 100}).json()["data"]) == 100
