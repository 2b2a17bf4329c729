"""Request bodies over the limit get 413 before anything reads them (the CSRF check included), whether
they declare a Content-Length or arrive chunked; uploads of a membership file get the file limit."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from tests.web.conftest import Portal, csrf_of, start_portal

FORM_LIMIT = 64 * 1024
FILE_LIMIT = 256 * 1024
MULTIPART_ALLOWANCE = 64 * 1024  # web/body_limits.py
HEADER = b"Employee Number;Work E-mail;Given name;Surname\r\n"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HRSYNC_MAX_BODY_BYTES", str(FORM_LIMIT))
        mp.setenv("HRSYNC_FILE_MAX_BYTES", str(FILE_LIMIT))
        yield from start_portal(tmp_path_factory)


def _raw(portal: Portal, head: str, body: bytes = b"", *, chunk: int = 0) -> tuple[int, bytes]:
    """Send a request by hand (``chunk`` > 0: chunked, in pieces of that size); the status and body received."""
    address = urlsplit(portal.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=60) as sock:
        sock.sendall(head.encode() + b"\r\n")
        try:
            if chunk:
                for start in range(0, len(body), chunk):
                    piece = body[start:start + chunk]
                    sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                sock.sendall(b"0\r\n\r\n")
            elif body:
                sock.sendall(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while we were still sending: what a limit does
        response = b""
        while b"\r\n\r\n" not in response or not _complete(response):
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            response += data
    status = int(response.split(b" ", 2)[1])
    return status, response.split(b"\r\n\r\n", 1)[1]


def _complete(response: bytes) -> bool:
    head, _, body = response.partition(b"\r\n\r\n")
    match = re.search(rb"(?i)content-length: (\d+)", head)
    return match is not None and len(body) >= int(match.group(1))


def test_a_declared_oversized_body_is_refused_without_being_read(portal: Portal) -> None:
    # Only the headers are sent: the 413 arrives although the 10 MB body never comes.
    status, body = _raw(portal, "POST /login HTTP/1.1\r\nHost: portal\r\n"
                        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000000\r\n")
    assert status == 413
    assert "larger than this address accepts" in json.loads(body)["detail"]


def test_a_chunked_body_is_counted_as_it_arrives(portal: Portal) -> None:
    head = ("POST /login HTTP/1.1\r\nHost: portal\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            "Transfer-Encoding: chunked\r\n")
    over = b"email=" + b"a" * (FORM_LIMIT + 10)
    assert _raw(portal, head, over, chunk=4096)[0] == 413
    under = b"email=" + b"a" * (FORM_LIMIT - 100)
    assert _raw(portal, head, under, chunk=4096)[0] == 403  # read in full, then the CSRF check refuses it


def test_the_limit_comes_before_the_csrf_check_and_small_forms_still_work(portal: Portal) -> None:
    client = portal.client()
    assert client.post("/login", data={"email": "x" * 100}).status_code == 403  # no CSRF token: refused
    assert client.post("/login", data={"email": "x" * (FORM_LIMIT + 1)}).status_code == 413
    _, _, email = portal.new_admin()
    portal.sign_in(email, client=portal.client())  # an ordinary sign-in form goes through


def test_the_api_answers_413_in_json(portal: Portal) -> None:
    response = portal.client().post("/api/v1/imports", content=b"{" + b" " * (FORM_LIMIT + 1) + b"}",
                                    headers={"Content-Type": "application/json", "Authorization": "Bearer x"})
    assert response.status_code == 413
    assert "detail" in response.json()


def _file_integration(portal: Portal, client: httpx.Client) -> int:
    page = client.get("/integrations/new/membership_file")
    response = client.post("/integrations/new/membership_file", data={
        "frequency": "daily", "schedule_time": "05:00", "date_format": "DD/MM/YYYY", "welcome_email": "on",
        "csrf_token": csrf_of(page.text)})
    assert response.status_code == 303, response.text[:500]
    match = re.fullmatch(r"/integrations/(\d+)/setup/file", response.headers["location"])
    assert match
    return int(match.group(1))


def test_membership_file_uploads_get_the_file_limit(portal: Portal) -> None:
    _, _, email = portal.new_admin()
    client = portal.sign_in(email)
    integration_id = _file_integration(portal, client)
    page = f"/integrations/{integration_id}/setup/file"
    rows = b"".join(b"E%06d;p%06d@acme.test;Pat;Doe\r\n" % (n, n) for n in range(4000))  # ~130 KB > form limit
    assert FORM_LIMIT < len(HEADER + rows) < FILE_LIMIT

    accepted = client.post(page, data={"csrf_token": csrf_of(client.get(page).text)},
                           files={"file": ("people.csv", HEADER + rows, "text/csv")})
    assert accepted.status_code == 303, accepted.text[:500]

    # Refused from the declared length alone (only the headers are sent), at the file limit plus the allowance...
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    head = (f"POST {page} HTTP/1.1\r\nHost: portal\r\nCookie: {cookie}\r\n"
            "Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: {length}\r\n")
    assert _raw(portal, head.format(length=FILE_LIMIT + MULTIPART_ALLOWANCE + 1))[0] == 413
    # ... and counted when chunked: a few kilobytes past the limit are enough to be refused.
    chunked = head.replace("Content-Length: {length}", "Transfer-Encoding: chunked")
    part = (b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="people.csv"\r\n'
            b"Content-Type: text/csv\r\n\r\n" + HEADER + rows * 3)
    assert len(part) > FILE_LIMIT + MULTIPART_ALLOWANCE
    assert _raw(portal, chunked, part, chunk=64 * 1024)[0] == 413

    # Another form of the same administrator is held to the form limit, not the file limit.
    schedule = head.replace(page, f"/integrations/{integration_id}/setup/schedule")
    assert _raw(portal, schedule.format(length=FORM_LIMIT + 1))[0] == 413
