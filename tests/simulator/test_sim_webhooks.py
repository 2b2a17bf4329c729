"""Webhook subscriptions in the simulator and the deliveries of its directory changes, over real HTTP.

A receiver on loopback collects what the simulator POSTs; every payload is validated against the
published webhook payload schema of its event (``webhookPerson*``/``webhookJob*``/``webhookEvent*``),
and the subscription answers against the ``/webhooks`` operations' response schemas.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator

from hrsync.simulator import Simulator

from .conftest import AUTH
from .test_simulator_spec_conformance import SPEC_URI, registry, validate

#: The payload schema the spec publishes for each event the simulator sends.
PAYLOAD_SCHEMAS = {
    "person.created": "webhookEventBasic",
    "person.updated": "webhookEventPersonUpdated",
    "person.deleted": "webhookPersonDeleted",
    "job.created": "webhookJobCreated",
    "job.ended": "webhookJobEnded",
    "job.end_date_finalised": "webhookJobEndDateFinalised",
    "job.timeline_updated": "webhookJobTimelineUpdated",
}


class Receiver:
    """A plain HTTP server that records every POST body (the webhook receiver)."""

    def __init__(self, status: int = 202) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = status
        received, answer = self.bodies, self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(answer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, count: int, deadline: float = 20.0) -> list[dict[str, Any]]:
        end = time.monotonic() + deadline
        while len(self.bodies) < count and time.monotonic() < end:
            time.sleep(0.05)
        assert len(self.bodies) >= count, f"expected {count} deliveries, got {self.bodies}"
        return list(self.bodies)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def check_payload(body: dict[str, Any]) -> None:
    name = PAYLOAD_SCHEMAS[body["event"]]
    schema = {"$ref": f"{SPEC_URI}#/components/schemas/{name}"}
    errors = list(OAS30Validator(schema, registry=registry()).iter_errors(body))
    assert not errors, [e.message for e in errors]
    # The schemas list properties without `required`: the documented ones must be there.
    assert isinstance(body["id"], str) and len(body["id"]) == 36
    assert body["timestamp"].endswith("+00:00")
    if body["event"] != "person.deleted":
        assert body["links"]["self"].endswith(f"/{body['id']}")


def subscribe(client: httpx.Client, url: str, event: str, **extra: Any) -> dict[str, Any]:
    answer = client.post("/webhooks", json={"url": url, "webhookEvent": event, **extra})
    assert answer.status_code == 201, answer.text
    data: dict[str, Any] = validate("/webhooks", answer, "post")["data"]
    return data


def test_subscriptions_follow_the_spec(new_sim: Callable[..., Simulator], receiver: Receiver) -> None:
    sim = new_sim(people=5)
    with httpx.Client(base_url=sim.base_url, headers=AUTH) as client:
        created = subscribe(client, receiver.url, "person.created", source="hrsync")
        assert created["webhookEvent"]["event"] == "person.created" and created["isEnabled"] is True
        assert created["source"] == "hrsync"
        listed = validate("/webhooks", client.get("/webhooks"))
        assert [w["id"] for w in listed["data"]] == [created["id"]]
        one = validate("/webhooks/{id}", client.get(f"/webhooks/{created['id']}"))
        assert one["data"]["url"] == receiver.url
        patched = client.patch(f"/webhooks/{created['id']}", json={"isEnabled": False})
        assert validate("/webhooks/{id}", patched, "patch")["data"]["isEnabled"] is False
        assert client.post("/webhooks", json={"url": receiver.url, "webhookEvent": "nope"}).status_code == 400
        assert client.post("/webhooks", json={"webhookEvent": "person.created"}).status_code == 400
        assert client.delete(f"/webhooks/{created['id']}").status_code == 204
        assert client.get(f"/webhooks/{created['id']}").status_code == 404
        assert client.get("/webhooks").json()["data"] == []
    assert httpx.get(f"{sim.base_url}/webhooks").status_code == 401  # no key, no subscriptions


def test_directory_changes_are_delivered_in_the_documented_shape(
    new_sim: Callable[..., Simulator], receiver: Receiver
) -> None:
    sim = new_sim(people=5)
    admin = httpx.Client(base_url=sim.url)
    with httpx.Client(base_url=sim.base_url, headers=AUTH) as client:
        for event in PAYLOAD_SCHEMAS:
            subscribe(client, receiver.url, event)
        off = subscribe(client, receiver.url, "person.created", isEnabled=False)  # disabled: never sent
        hired = admin.post("/_sim/people", json={"first_name": "Ana", "last_name": "Webb",
                                                 "email": "ana.webb@example.com"}).json()
        admin.patch(f"/_sim/people/{hired['id']}", json={"firstName": "Anna", "primaryEmailAddress": "a@example.com"})
        veteran = sim.directory.ids()[0]  # started long ago: ending their job yesterday ends it now
        ended = admin.post(f"/_sim/people/{veteran}/terminate", json={})
        assert ended.status_code == 200, ended.text
        admin.delete(f"/_sim/people/{hired['id']}")
        bodies = receiver.wait_for(6)
        time.sleep(0.3)  # nothing else may follow
        bodies = receiver.bodies
    admin.close()
    for body in bodies:
        check_payload(body)
    events = [b["event"] for b in bodies]
    assert events == ["person.created", "job.created", "person.updated", "job.end_date_finalised",
                      "job.ended", "person.deleted"], events
    assert bodies[0]["id"] == hired["id"] and bodies[0]["links"]["self"] == f"{sim.base_url}/people/{hired['id']}"
    assert bodies[1]["links"]["self"].startswith(f"{sim.base_url}/jobs/")
    assert bodies[2]["updated_attributes"] == ["first_name", "email_addresses"]
    assert "links" not in bodies[5] and bodies[5]["id"] == hired["id"]
    # what the simulator delivered is readable through its back door too
    recorded = httpx.get(f"{sim.url}/_sim/webhooks/deliveries").json()["deliveries"]
    assert len(recorded) == 6 and all(d["status"] == 202 for d in recorded)
    assert all(d["subscriptionId"] != off["id"] for d in recorded)


def test_an_unreachable_receiver_does_not_stop_the_directory(new_sim: Callable[..., Simulator]) -> None:
    sim = new_sim(people=5)
    with httpx.Client(base_url=sim.base_url, headers=AUTH) as client:
        subscribe(client, "http://127.0.0.1:9/nobody", "person.created")  # discard port: refused
        hired = sim.directory.hire(first_name="Bo", last_name="Lee")
        assert client.get(f"/people/{hired['id']}").status_code == 200
    assert sim.webhooks.wait_idle(20)
    assert [d.error for d in sim.webhooks.deliveries] == ["ConnectError"]
