"""``hrsync integration add --subdomain`` takes the tenant as the intelliHR article writes it, and refuses
any other host at once, before the API key is read or checked (issue 10, item 4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Install

from tests.sync.conftest import API_KEY, TENANT


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # a text column: the engine does not matter
def test_the_articles_url_form_connects_and_stores_the_bare_tenant(install: Install) -> None:
    install.cli_json("programme", "add", "Acme", "--admin-email", "owner@acme.test")
    before = install.sim.stats.count(path_prefix="/v1")
    created = install.cli_json("integration", "add", "--programme", "Acme",
                               "--subdomain", "  https://Acme.intelliHR.net/ ", "--api-key", "-",
                               stdin=API_KEY + "\n")
    assert install.sim.stats.count(path_prefix="/v1") > before  # the key was checked with the simulator
    shown = install.cli_json("integration", "show", str(created["id"]))
    assert shown["settings"] == {"subdomain": TENANT} and TENANT == "acme"
    # another spelling of the same account is that account: connected once per programme
    again = install.cli("integration", "add", "--programme", "Acme",
                        "--subdomain", "ACME.intellihr.net", "--api-key", API_KEY)
    assert again.returncode != 0
    assert "acme.intellihr.net is already connected in this programme" in again.stderr
    install.cli_json("programme", "add", "Beta", "--admin-email", "owner@beta.test")
    other = install.cli_json("integration", "add", "--programme", "Beta",
                             "--subdomain", "ACME.intellihr.net", "--api-key", API_KEY)
    assert install.cli_json("integration", "show", str(other["id"]))["settings"]["subdomain"] == "acme"


HOSTILE = [
    ("evil.example.com", "is not an intelliHR address"),
    ("https://acme.intellihr.net.evil.test/", "is not an intelliHR address"),
    ("127.0.0.1", "is an IP address"),
    ("acme.intellihr.net:8443", "has a port"),
    ("https://user:pass@acme.intellihr.net", "user name or password"),
    ("https://acme.intellihr.net/people?limit=1", "has a path"),
]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # refused before any database work
def test_another_host_is_refused_before_the_key_is_read_or_checked(install: Install) -> None:
    install.cli_json("programme", "add", "Acme", "--admin-email", "owner@acme.test")
    for typed, says in HOSTILE:
        before = install.sim.stats.count()
        # No key on standard input: had the key been read first, the complaint would be about the key.
        refused = install.cli_json("integration", "add", "--programme", "Acme", "--subdomain", typed,
                                   "--api-key", "-", stdin="", expect=2)
        assert refused["code"] == "invalid_subdomain"
        assert says in refused["error"] and "your-company" in refused["error"], (typed, refused)
        assert install.sim.stats.count() == before  # intelliHR (the simulator) was never asked
        assert "user:pass" not in refused["error"]  # credentials typed by mistake are not echoed
    # Without --json: one line on stderr, exit 2, and neither the key nor the typed password in it.
    plain = install.cli("integration", "add", "--programme", "Acme", "--subdomain", HOSTILE[4][0],
                        "--api-key", API_KEY)
    assert plain.returncode == 2
    assert plain.stderr.count("\n") == 1 and "user name or password" in plain.stderr, plain.stderr
    assert "user:pass" not in plain.stderr and API_KEY not in plain.stderr + plain.stdout
    assert install.sim.stats.count() == 0
    assert install.cli("integration", "show", "1").returncode == 2  # nothing was created
