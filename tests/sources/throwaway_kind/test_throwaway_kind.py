"""A kind of source added without editing a file outside this folder (issue 23 item 3): through the
wizard (real HTTP against a live portal), the CLI and an import, the kind's settings, words,
catalogue card, secret handling and connection key all come from its :class:`SourceKind`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.sync.conftest import run_in_process
from tests.web.conftest import Portal, csrf_of

TOKEN = "roster-token-5678"


def _roster(folder: Path, people: list[dict[str, str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "token.txt").write_text(TOKEN + "\n", encoding="utf-8")
    (folder / "people.json").write_text(json.dumps(people), encoding="utf-8")
    return folder


def _person(n: int, status: str = "here") -> dict[str, str]:
    return {"number": f"R{n:03d}", "mail": f"roster{n}@example.com", "given": f"Given{chr(97 + n)}",
            "family": f"Family{chr(97 + n)}", "status": status}


def hrsync(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_in_process(dict(os.environ), (*args, "--json"), stdin)


def hrsync_json(*args: str, stdin: str | None = None, expect: int = 0) -> Any:
    proc = hrsync(*args, stdin=stdin)
    assert proc.returncode == expect, (proc.returncode, proc.stdout, proc.stderr)
    return json.loads(proc.stdout) if proc.stdout.strip() else None


def test_the_cli_adds_publishes_and_imports_a_kind_it_was_never_told_about(portal: Portal, tmp_path: Path) -> None:
    folder = _roster(tmp_path / "roster", [_person(1), _person(2), _person(3)])
    hrsync_json("programme", "add", "Roster Co", "--admin-email", "owner@roster.test")

    kinds = {k["kind"]: k for k in hrsync_json("integration", "kinds")["kinds"]}
    assert [(f["name"], f["secret"]) for f in kinds["roster"]["settings"]] == [("folder", False), ("token", True)]

    # a wrong secret is refused by the kind's check and nothing is stored
    wrong = hrsync("integration", "add", "--programme", "Roster Co", "--source", "roster",
                   "--setting", f"folder={folder}", "--api-key", "-", stdin="not-the-token\n")
    assert wrong.returncode != 0 and "The roster refused this token." in wrong.stderr
    # an option of another kind does not apply
    alias = hrsync("integration", "add", "--programme", "Roster Co", "--source", "roster", "--subdomain", "acme")
    assert alias.returncode != 0 and "--subdomain does not apply to --source roster" in alias.stderr

    created = hrsync_json("integration", "add", "--programme", "Roster Co", "--source", "roster",
                          "--setting", f"folder={folder}", "--api-key", "-", stdin=TOKEN + "\n")
    shown = hrsync("integration", "show", str(created["id"]))
    described = json.loads(shown.stdout)
    assert described["kind"] == "roster" and described["settings"] == {"folder": str(folder)}
    assert described["api_key_last4"] == TOKEN[-4:] and TOKEN not in shown.stdout
    assert described["mapping"] == {"employee_id": "number", "email": "mail", "first_name": "given",
                                    "last_name": "family"}

    # one integration per roster folder in a programme: the kind's connection key
    second = hrsync("integration", "add", "--programme", "Roster Co", "--source", "roster",
                    "--setting", f"folder={folder}", "--api-key", "-", stdin=TOKEN + "\n")
    assert second.returncode != 0 and "already connected" in second.stderr

    hrsync_json("integration", "publish", str(created["id"]))
    hrsync_json("import", str(created["id"]))
    members = {m["employee_id"]: m for m in hrsync_json("members", "--programme", "Roster Co")}
    assert sorted(members) == ["R001", "R002", "R003"]
    assert members["R002"]["email"] == "roster2@example.com" and members["R002"]["status"] == "invited"

    _roster(folder, [_person(1), _person(2, status="gone"), _person(3)])
    hrsync_json("import", str(created["id"]))
    members = {m["employee_id"]: m for m in hrsync_json("members", "--programme", "Roster Co")}
    assert members["R002"]["status"] == "leaver" and members["R001"]["status"] == "invited"


def test_the_wizard_sets_up_a_kind_from_its_settings_alone(portal: Portal, tmp_path: Path) -> None:
    folder = _roster(tmp_path / "wizard-roster", [_person(4), _person(5)])
    _programme, _admin, email = portal.new_admin()
    client = portal.sign_in(email)

    explore = client.get("/integrations", params={"tab": "explore", "q": "throwaway"})
    assert explore.status_code == 200 and "Roster file" in explore.text and "A roster kept as JSON" in explore.text

    created = portal.post_form(client, "/integrations/new/roster", "/integrations/new/roster",
                               {"frequency": "manual", "date_format": "DD/MM/YYYY"})
    assert created.status_code == 303, created.text[:500]
    settings_url = created.headers["location"]
    assert settings_url.endswith("/setup/settings")
    page = client.get(settings_url)
    assert page.status_code == 200
    for words in ("Connect Roster file", "Roster folder", "The folder holding people.json.", "Roster token"):
        assert words in page.text
    assert 'type="password"' in page.text

    refused = client.post(settings_url, data={"folder": str(folder), "token": "wrong",
                                              "csrf_token": csrf_of(page.text)})
    assert refused.status_code == 400 and "The roster refused this token." in refused.text
    assert "wrong" not in refused.text.split("The roster refused this token.")[1]  # a secret is never shown back

    saved = client.post(settings_url, data={"folder": str(folder), "token": TOKEN, "csrf_token": csrf_of(page.text)})
    assert saved.status_code == 303 and saved.headers["location"].endswith("/setup/mapping")
    again = client.get(settings_url)
    assert f"…{TOKEN[-4:]}" in again.text and TOKEN not in again.text and str(folder) in again.text

    mapping = client.get(saved.headers["location"])
    assert mapping.status_code == 200
    assert "Roster field" in mapping.text and "Given name" in mapping.text
    integration_id = settings_url.split("/")[2]
    review = client.get(f"/integrations/{integration_id}/setup/review")
    assert review.status_code == 200 and "your roster" in review.text
    published = portal.post_form(client, f"/integrations/{integration_id}/setup/review",
                                 f"/integrations/{integration_id}/setup/publish")
    assert published.status_code == 303 and published.headers["location"] == f"/integrations/{integration_id}"
    dashboard = client.get(published.headers["location"])
    assert dashboard.status_code == 200 and "Roster file" in dashboard.text
