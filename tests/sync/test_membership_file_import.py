"""Membership files imported through the interface an operator touches: ``hrsync`` commands, a real
drop folder, the same runner as intelliHR, on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from hrsync.services.exports import members_csv_lines

if TYPE_CHECKING:
    from conftest import Install

HYPERLINK = '=HYPERLINK("http://evil.test","click")'
OLD = time.time() - 3600


def _write(folder: Path, name: str, rows: list[list[str]], *, delimiter: str = ";", bom: bool = True,
           age: float = 0) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path = folder / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode() + b"\r\n\r\n")
    os.utime(path, (OLD - age, OLD - age))
    return path


def _staff(n: int, status: str = "Current Staff") -> list[list[str]]:
    return [[f"E{i:03d}", f"person{i}@acme.test", f"First{chr(97 + i % 26)}", f"Last-{chr(97 + i % 26)}",
             status, f"{1 + i % 28:02d}/03/1990"] for i in range(n)]


HEADER = ["Employee Number", "Work E-mail", "Given name", "Surname", "Employment Status", "Date of birth"]


def _setup(install: Install, folder: Path) -> int:
    install.cli_json("programme", "add", "Acme", "--admin-email", "owner@acme.test")
    created = install.cli_json("integration", "add", "--programme", "Acme", "--source", "file",
                               "--path", str(folder))
    shown = install.cli_json("integration", "show", str(created["id"]))
    assert shown["kind"] == "membership_file" and shown["settings"] == {"path": str(folder)}
    assert shown["mapping"] == {"employee_id": "Employee Number", "email": "Work E-mail",
                                "first_name": "Given name", "last_name": "Surname",
                                "date_of_birth": "Date of birth"}
    install.cli_json("integration", "publish", str(created["id"]))
    return int(created["id"])


def test_a_file_imports_members_with_invitations_history_and_a_safe_error_file(
    install: Install, tmp_path: Path
) -> None:
    folder = tmp_path / "sftp"
    folder.mkdir()
    rows = [HEADER, *_staff(20),
            ["E100", "", "Nomail", "Person", "Current Staff", ""],  # error: no e-mail
            [HYPERLINK, "formula@acme.test", "Eve", "Formula", "Current Staff", ""],
            ["E101", "quote@acme.test", 'Ann\r\n"Marie"', "Lee; Jr", "Upcoming Staff", "31/02/1990"],
            ["E102", "past@acme.test", "Old", "Timer", "Past Staff", ""]]
    _write(folder, "staff-older.csv", [HEADER, *_staff(3)], age=100)
    _write(folder, "staff.csv", rows)
    integration = _setup(install, folder)
    fields = install.cli_json("integration", "fields", str(integration))["fields"]
    assert fields[0] == {"key": "Employee Number", "label": "Employee Number", "kind": "text",
                         "mapped_to": ["employee_id"], "suggested_for": ["employee_id"]}

    dry = install.cli_json("import", str(integration), "--dry-run")
    assert dry["created"] == 21 and (folder / "staff.csv").exists()  # a dry run leaves the file

    result = install.cli_json("import", str(integration))
    assert result["status"] == "succeeded_with_errors"
    assert (result["created"], result["pending"], result["errors"]) == (21, 1, 1)
    assert result["warnings"] >= 2  # the name with a line break and quotes, the impossible date
    assert not list(folder.glob("*.csv"))
    assert [p.name.split(".")[0] for p in (folder / "processed").iterdir()] == ["staff"]
    assert [p.name.split(".")[0] for p in (folder / "superseded").iterdir()] == ["staff-older"]

    members = install.members()
    assert members["E005"]["status"] == "invited" and members["E005"]["email"] == "person5@acme.test"
    assert members["E005"]["attributes"]["date_of_birth"] == "1990-03-06"
    assert members["E101"]["status"] == "pending" and "E102" not in members and "E100" not in members
    assert members[HYPERLINK]["status"] == "invited"
    history = install.cli_json("runs", str(integration))
    assert [r["status"] for r in history] == ["succeeded_with_errors", "succeeded_with_errors"]

    errors = install.cli("run", "errors", str(result["id"]), check=True).stdout
    assert errors.startswith("\ufeff")
    row = list(csv.reader(io.StringIO(errors)))[1]
    assert row[:5] == ["E100", "Nomail Person", "E100", "Email", "No e-mail address"] and row[6] == "missing_email"
    programme_id = install.cli_json("integration", "show", str(integration))["programme_id"]
    exported = [cell for row in csv.reader(io.StringIO("".join(members_csv_lines(programme_id)))) for cell in row]
    assert "'" + HYPERLINK in exported and not [c for c in exported if c.startswith("=")]  # text, not a formula

    second = install.cli_json("import", str(integration), expect=1)
    assert second["status"] == "failed" and "no membership file" in second["reason"]


def test_a_second_file_updates_and_removes_people_through_the_brake(install: Install, tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    _write(folder, "jan.csv", [HEADER, *_staff(30)], delimiter=",", bom=False)
    integration = _setup(install, folder)
    install.cli_json("integration", "edit", str(integration), "--vanished-are-leavers")
    assert install.cli_json("import", str(integration))["created"] == 30

    feb = _staff(30)
    feb[0][3] = "Renamed"  # E000 updated
    feb[1][4] = "leaver"  # E001 leaves by status
    _write(folder, "feb.csv", [HEADER, *feb[:29]])  # E029 vanished
    result = install.cli_json("import", str(integration))
    assert (result["updated"], result["leavers"]) == (1, 2), result
    members = install.members()
    assert members["E000"]["last_name"] == "Renamed"
    assert members["E001"]["status"] == members["E029"]["status"] == "leaver"

    _write(folder, "mar.csv", [HEADER, *_staff(5)])  # a mass removal: 24 of 28 active members gone
    held = install.cli_json("import", str(integration), expect=1)
    assert held["status"] == "held" and held["leavers"] == 24
    assert install.members() == members  # nothing changed while it waits
    assert [p.name.split(".")[0] for p in (folder / "processed").iterdir()].count("mar") == 1


def test_bad_files_fail_the_run_change_no_member_and_move_to_failed(install: Install, tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    _write(folder, "good.csv", [HEADER, *_staff(4)])
    integration = _setup(install, folder)
    install.cli_json("import", str(integration))
    before = install.members()
    bad = {
        "latin1.csv": ("Employee Number,Work E-mail\nE1,Zoë@acme.test\n".encode("latin-1"), "not UTF-8"),
        "binary.csv": (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
        "empty.csv": (b"", "empty"),
        "dupes.csv": (b"Employee Number,Work E-mail,Work E-mail\nE1,a@acme.test,b\n", "two columns"),
        "nokey.csv": (b"Staff,Work E-mail\nE1,a@acme.test\n", "no column 'Employee Number'"),
    }
    for name, (data, words) in bad.items():
        path = folder / name
        path.write_bytes(data)
        os.utime(path, (OLD, OLD))
        result = install.cli_json("import", str(integration), expect=1)
        assert result["status"] == "failed" and words in result["reason"], (name, result)
        assert install.members() == before
        assert not path.exists() and any(p.name.startswith(name[:-4]) for p in (folder / "failed").iterdir())
    big = folder / "big.csv"
    big.write_bytes(b"Employee Number,Work E-mail\n" + b"E1,a@acme.test\n" * 100)
    os.utime(big, (OLD, OLD))
    limited = dataclasses.replace(install, env={**install.env, "HRSYNC_FILE_MAX_BYTES": "1000"})
    proc = limited.cli("import", str(integration), "--json")
    assert proc.returncode == 1 and "more than the" in proc.stderr
    assert install.members() == before and not big.exists()


def test_an_empty_drop_folder_is_set_up_first_and_mapped_by_column_name_from_the_first_file(
    install: Install, tmp_path: Path
) -> None:
    """The SFTP order: `integration add --path` on an empty folder is accepted and says how it will be
    mapped; an import before any file is refused with what to do; the first file's columns map by name."""
    folder = tmp_path / "sftp-empty"
    folder.mkdir()
    install.cli_json("programme", "add", "Acme", "--admin-email", "owner@acme.test")
    said = install.cli("integration", "add", "--programme", "Acme", "--source", "file", "--path", str(folder))
    assert said.returncode == 0, said.stderr
    assert "mapped by name" in said.stdout and '--map employee_id="Employee ID"' in said.stdout, said.stdout
    integration = int(said.stdout.split()[1])  # "integration 1 created as a draft. ..."
    assert install.cli_json("integration", "show", str(integration))["mapping"] == {}
    early = install.cli("import", str(integration), "--dry-run")
    assert early.returncode != 0 and "Nothing is mapped yet" in early.stderr, (early.stdout, early.stderr)
    partial = install.cli("integration", "add", "--programme", "Acme", "--source", "file", "--path",
                          str(tmp_path), "--map", "email=Email")
    assert partial.returncode != 0 and '--map employee_id="Employee ID"' in partial.stderr, partial.stderr

    _write(folder, "staff.csv", [HEADER, *_staff(5)])
    dry = install.cli_json("import", str(integration), "--dry-run")
    assert dry["created"] == 5
    assert install.cli_json("integration", "show", str(integration))["mapping"]["employee_id"] == "Employee Number"
    install.cli_json("integration", "publish", str(integration))
    assert install.cli_json("import", str(integration))["created"] == 5
    assert sorted(install.members()) == [f"E{i:03d}" for i in range(5)]
