"""The drop folder never follows a link (issue 22, item 3): the review's repro through ``hrsync``.

Two programmes, each with a membership-file integration and its own drop folder. Whoever writes
Acme's folder (an SFTP account) replaces ``processed/`` (or ``failed/``, ``superseded/``) with a
symbolic link to Beta's folder, or drops a ``*.csv`` that is a link to a file elsewhere. Acme's import
must fail with ``link_in_drop_folder`` before any member changes, nothing may land in Beta's folder,
and Beta's next import must change none of Beta's members.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Install

OLD = time.time() - 3600
HEADER = "Employee Number,Work E-mail,Given name,Surname,Employment Status\n"


def _file(folder: Path, name: str, people: list[tuple[str, str]], *, age: float = 0, header: str = HEADER) -> Path:
    path = folder / name
    path.write_text(header + "".join(f"{eid},{email},Given,{eid},Current Staff\n" for eid, email in people))
    os.utime(path, (OLD - age, OLD - age))
    return path


def _programme(install: Install, name: str, folder: Path) -> int:
    install.cli_json("programme", "add", name, "--admin-email", f"owner@{name.lower()}.test")
    created = install.cli_json("integration", "add", "--programme", name, "--source", "file", "--path", str(folder))
    install.cli_json("integration", "publish", str(created["id"]))
    return int(created["id"])


def _two_programmes(install: Install, tmp_path: Path) -> tuple[int, Path, int, Path]:
    acme, beta = tmp_path / "sftp-acme", tmp_path / "sftp-beta"
    acme.mkdir()
    beta.mkdir()
    _file(acme, "acme.csv", [("A1", "a1@acme.test"), ("A2", "a2@acme.test")])
    _file(beta, "beta.csv", [("B1", "b1@beta.test")])
    acme_id, beta_id = _programme(install, "Acme", acme), _programme(install, "Beta", beta)
    assert install.cli_json("import", str(acme_id))["created"] == 2
    assert install.cli_json("import", str(beta_id))["created"] == 1
    return acme_id, acme, beta_id, beta


def _csv_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".csv"))


def _refused(install: Install, integration: int) -> dict[str, object]:
    failed = install.cli_json("import", str(integration), expect=1)
    assert failed["status"] == "failed", failed
    assert failed["failure_code"] == "link_in_drop_folder", failed
    assert "symbolic link" in str(failed["reason"]) and "link" in str(failed["advice"])
    return dict(failed)


def _both_untouched(install: Install, beta_id: int, beta: Path, acme_before: object, beta_before: object) -> None:
    assert install.members("Acme") == acme_before
    assert install.members("Beta") == beta_before
    assert _csv_names(beta) == []  # nothing landed in Beta's folder for Beta's next import to take
    assert not any(p.name.endswith(".csv") for p in (beta / "processed").iterdir() if "mallory" in p.name)
    again = install.cli_json("import", str(beta_id), expect=1)
    assert again["failure_code"] == "no_file"
    assert install.members("Beta") == beta_before


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("linked", ["processed", "superseded", "failed"])
def test_a_subfolder_replaced_by_a_link_to_another_programmes_folder_fails_the_run(
    install: Install, tmp_path: Path, linked: str
) -> None:
    acme_id, acme, beta_id, beta = _two_programmes(install, tmp_path)
    acme_before, beta_before = install.members("Acme"), install.members("Beta")
    mallory = [("M1", "mallory@evil.test")]
    if linked == "failed":  # a file the import refuses goes to failed/
        planted = _file(acme, "mallory.csv", mallory, header="Staff,Work E-mail,Given name,Surname,Status\n")
    else:
        planted = _file(acme, "mallory.csv", mallory)
    if linked == "superseded":  # an older file waiting goes to superseded/ when a newer one is imported
        _file(acme, "mallory-older.csv", mallory, age=60)
    if (acme / linked).exists():
        os.rename(acme / linked, tmp_path / f"{linked}-moved-away")
    (acme / linked).symlink_to(beta)

    failed = _refused(install, acme_id)

    assert f"{acme / linked}" in str(failed["reason"])
    assert planted.exists() and (acme / linked).is_symlink()  # nothing moved, the link left as found
    _both_untouched(install, beta_id, beta, acme_before, beta_before)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_waiting_file_that_is_a_link_fails_the_run_and_is_not_read(install: Install, tmp_path: Path) -> None:
    acme_id, acme, beta_id, beta = _two_programmes(install, tmp_path)
    acme_before, beta_before = install.members("Acme"), install.members("Beta")
    elsewhere = _file(tmp_path, "elsewhere.csv", [("M1", "mallory@evil.test")])
    (acme / "staff.csv").symlink_to(elsewhere)

    failed = _refused(install, acme_id)

    assert "staff.csv" in str(failed["reason"])
    assert (acme / "staff.csv").is_symlink() and elsewhere.exists()
    _both_untouched(install, beta_id, beta, acme_before, beta_before)
    fields = install.cli("integration", "fields", str(acme_id), "--json")
    assert fields.returncode != 0 and "symbolic link" in fields.stderr and "mallory" not in fields.stdout


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_drop_folder_itself_may_not_be_a_link(install: Install, tmp_path: Path) -> None:
    acme_id, acme, _beta_id, beta = _two_programmes(install, tmp_path)
    acme_before, beta_before = install.members("Acme"), install.members("Beta")
    _file(beta, "mallory.csv", [("M1", "mallory@evil.test")])
    os.rename(acme, tmp_path / "acme-moved-away")
    acme.symlink_to(beta)

    failed = _refused(install, acme_id)

    assert str(acme) in str(failed["reason"]) and _csv_names(beta) == ["mallory.csv"]
    assert install.members("Acme") == acme_before and install.members("Beta") == beta_before
    refused = install.cli("integration", "add", "--programme", "Acme", "--source", "file", "--path", str(acme),
                          "--json")
    assert refused.returncode != 0 and "symbolic link" in refused.stderr
