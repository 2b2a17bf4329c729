"""Many doors into one programme (issue 23, items 1 and 2), through the ``hrsync`` CLI, on SQLite and
PostgreSQL: an intelliHR integration (the simulator over HTTP), a membership-file integration (a real
drop folder) and members added by hand share one programme; each import touches only its own members,
none reports another's as vanished, a clash is ``owned_elsewhere`` on both sides; adopting at publish
hands members over; a manual member is marked ineligible and eligible again, with the e-mails a leaver
gets delivered to a real SMTP server."""

from __future__ import annotations

import csv
import io
import os
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from hrsync.notify.catcher import MailCatcher
from hrsync.store.db import session_scope
from hrsync.store.models import MemberEvent

if TYPE_CHECKING:
    from conftest import Install


HEADER = ["Employee Number", "Work E-mail", "Given name", "Surname", "Employment Status", "Date of birth"]


def _write(folder: Path, name: str, rows: list[list[str]]) -> None:
    """A membership file in the drop folder, an hour old (settled: the folder takes only finished files)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path = folder / name
    path.write_text(buffer.getvalue(), encoding="utf-8")
    os.utime(path, (time.time() - 3600, time.time() - 3600))


def _issues(install: Install, run_id: int, *, warnings: bool = False) -> list[dict[str, str]]:
    args = ["run", "errors", str(run_id)] + (["--warnings"] if warnings else [])
    text = install.cli(*args, check=True).stdout
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


PROBLEM_CODE_COLUMNS = ("code", "issue code", "problem code")  # the error file's column, as it was named over time


def _codes(rows: list[dict[str, str]]) -> Counter[str]:
    return Counter(next(v for k, v in r.items() if k and k.lower() in PROBLEM_CODE_COLUMNS) for r in rows)


def _events(install: Install, member_id: int) -> list[tuple[str, Any]]:
    with session_scope(install.url) as session:
        return [(e.kind, e.changes) for e in session.scalars(
            select(MemberEvent).where(MemberEvent.member_id == member_id).order_by(MemberEvent.id))]


def _row(emp: str, email: str, first: str, status: str = "Current Staff") -> list[str]:
    return [emp, email, first, "Contractor", status, ""]


def _file_integration(install: Install, folder: Path, *, publish: bool = True) -> int:
    created = install.cli_json("integration", "add", "--programme", "Acme", "--source", "file", "--path", str(folder))
    if publish:
        install.cli_json("integration", "publish", str(created["id"]))
    return int(created["id"])


def test_three_doors_share_a_programme_and_each_import_touches_only_its_own(
    install: Install, tmp_path: Path, mail: MailCatcher
) -> None:
    hr = install.setup_integration()
    first = install.cli_json("import", str(hr))
    hr_members = install.members()
    assert first["created"] > 50 and len(hr_members) == first["created"] + first["pending"]
    taken, readdressed = [m for m in hr_members.values() if m["status"] in ("invited", "active")][:2]

    manual = install.cli_json("members", "add", "--programme", "Acme", "--employee-id", "MAN-1",
                              "--email", "manny@acme.test", "--first-name", "Manny")
    assert (manual["door"], manual["integration_id"], manual["status"]) == ("manual", None, "invited")
    refused = install.cli_json("members", "add", "--programme", "Acme", "--employee-id", taken["employee_id"],
                               "--email", "someone@acme.test", expect=2)
    assert refused["code"] == "owned_elsewhere" and f"intelliHR integration #{hr}" in refused["error"]

    folder = tmp_path / "sftp"
    folder.mkdir()
    contractors = [_row(f"C{i}", f"contractor{i}@acme.test", f"Con{'abc'[i]}") for i in range(3)]
    clashes = [
        _row(taken["employee_id"], "takeover@acme.test", "Mallory"),  # an intelliHR member's employee ID
        _row("C9", readdressed["email"].upper(), "Trudy"),  # an intelliHR member's address
        _row("MAN-1", "manny.file@acme.test", "Manuel"),  # a member added by hand
    ]
    _write(folder, "members.csv", [HEADER, *contractors, *clashes])
    file = _file_integration(install, folder)

    preview = install.cli_json("import", str(file), "--dry-run")
    assert (preview["created"], preview["errors"], preview["leavers"]) == (3, 3, 0)
    assert "vanished" not in _codes(_issues(install, preview["id"], warnings=True))

    result = install.cli_json("import", str(file))
    assert (result["created"], result["updated"], result["leavers"], result["errors"]) == (3, 0, 0, 3)
    errors = _issues(install, result["id"])
    assert _codes(errors) == Counter({"owned_elsewhere": 3})
    text = "\n".join(",".join(r.values()) for r in errors)
    assert f"intelliHR integration #{hr}" in text and "added by hand" in text
    assert "vanished" not in _codes(_issues(install, result["id"], warnings=True))

    after = install.members()
    for kept in (taken, readdressed):  # never taken over
        assert (after[kept["employee_id"]]["email"], after[kept["employee_id"]]["first_name"]) == \
            (kept["email"], kept["first_name"])
    assert after["MAN-1"]["email"] == "manny@acme.test" and after["MAN-1"]["door"] == "manual"
    assert {after[f"C{i}"]["integration_id"] for i in range(3)} == {file}
    # The other side of each clash: the member's own history names the import that met it.
    for member_id in (taken["id"], readdressed["id"], manual["id"]):
        claims = [c for kind, c in _events(install, member_id) if kind == "owned_elsewhere"]
        assert len(claims) == 1 and claims[0]["integration_id"] == file and claims[0]["run_id"] == result["id"]

    again = install.cli_json("import", str(hr))  # the intelliHR import leaves the file's and the hand's alone
    assert (again["created"], again["updated"], again["leavers"]) == (0, 0, 0)
    assert "vanished" not in _codes(_issues(install, again["id"], warnings=True))
    assert install.members()["C0"]["status"] == after["C0"]["status"]

    _write(folder, "members-2.csv", [HEADER, *contractors, *clashes])  # the same clash, imported again
    install.cli_json("import", str(file))
    claims = [kind for kind, _c in _events(install, taken["id"]) if kind == "owned_elsewhere"]
    assert len(claims) == 1  # a clash repeating import after import is noted once

    # Switching doors: a second file takes over two of the first file's contractors at publish.
    other = tmp_path / "sftp2"
    other.mkdir()
    _write(other, "members.csv", [HEADER, _row("C0", "contractor0@acme.test", "Cona"),
                                  _row("C1", "contractor1@acme.test", "Conb"), _row("N1", "new1@acme.test", "Nia")])
    taker = _file_integration(install, other, publish=False)
    dry = install.cli_json("import", str(taker), "--dry-run")
    assert (dry["created"], dry["errors"]) == (1, 2)
    assert install.cli_json("integration", "adoptable", str(taker)) == [
        {"integration_id": file, "door": f"the Membership file (CSV / SFTP) integration #{file}", "members": 2}]
    published = install.cli_json("integration", "publish", str(taker), "--adopt-from", str(file))
    assert published["adopted"] == 2 and published["status"] == "live"
    took = install.cli_json("import", str(taker))
    assert (took["created"], took["errors"]) == (1, 0)
    moved = install.members()
    assert {moved["C0"]["integration_id"], moved["C1"]["integration_id"], moved["C2"]["integration_id"]} == \
        {taker, file}
    assert moved["C0"]["id"] == after["C0"]["id"]  # the same member, handed over
    assert [kind for kind, _c in _events(install, moved["C0"]["id"])] == ["created", "adopted"]
    assert took["unchanged"] == 2  # the adopted members, found as they are

    # The manual door: ineligible is a leaver at once, told as every leaver; eligible again within 60 days.
    install.cli_json("outbox", "send")
    before = Counter(str(m.message.get("X-Hrsync-Kind")) for m in mail.messages if "manny@" in str(m.message["To"]))
    assert before["invitation"] == 1
    gone = install.cli_json("members", "ineligible", str(manual["id"]))
    assert gone["status"] == "leaver" and gone["access_until"] is not None
    install.cli_json("outbox", "send")
    told = [m for m in mail.messages if "manny@" in str(m.message["To"])]
    assert Counter(str(m.message.get("X-Hrsync-Kind")) for m in told)["leaver_reminder"] == 1
    assert install.cli_json("members", "ineligible", str(manual["id"]), expect=2)["code"] == "not_eligible"
    back = install.cli_json("members", "eligible", str(manual["id"]))
    assert (back["status"], back["access_until"], back["leaving_date"]) == ("active", None, None)
    edited = install.cli_json("members", "edit", str(manual["id"]), "--last-name", "Hand")
    assert edited["changed"] == ["last_name"] and edited["last_name"] == "Hand"
    assert install.cli_json("members", "edit", str(taken["id"]), "--first-name", "X", expect=2)["code"] == \
        "owned_elsewhere"
    kinds = [kind for kind, _c in _events(install, manual["id"])]
    assert kinds == ["added_by_hand", "owned_elsewhere", "made_ineligible", "made_eligible", "edited_by_hand"]
    final = install.cli_json("import", str(hr))  # still never touched by an import
    assert (final["updated"], final["leavers"]) == (0, 0)
    assert install.members()["MAN-1"]["status"] == "active"
