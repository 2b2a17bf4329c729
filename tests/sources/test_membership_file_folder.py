"""Portal uploads into a drop folder, and the membership-file kind's settings in the registry."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hrsync.config import reset_settings_cache
from hrsync.sources.base import SourceError
from hrsync.sources.membership_file import drop_upload, folder_of, newest_file
from hrsync.sources.registry import REGISTRY, SourceKind, kind_of


@dataclass
class _Integration:
    """Stands for a stored integration: the attributes the folder functions read."""

    id: int
    settings: dict[str, Any] | None = None
    mapping: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(autouse=True)
def _settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HRSYNC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HRSYNC_FILE_MAX_BYTES", "1000")
    monkeypatch.delenv("HRSYNC_FILE_DROP_ROOT", raising=False)
    monkeypatch.delenv("HRSYNC_FILE_SETTLE_SECONDS", raising=False)
    reset_settings_cache()
    yield
    reset_settings_cache()


def test_upload_lands_in_the_default_folder_and_is_importable_at_once(tmp_path: Path) -> None:
    integration = _Integration(7)
    path = drop_upload(integration, "C:\\Users\\me\\Staff list.CSV", io.BytesIO(b"Employee ID,Email\n"))
    assert path == tmp_path / "data" / "drop" / "7" / "Staff list.CSV"
    assert path.read_bytes() == b"Employee ID,Email\n"
    assert newest_file(folder_of(integration)) == path  # not held back as "still being written"
    assert [p.name for p in path.parent.iterdir()] == ["Staff list.CSV"]  # no temporary file left


def test_upload_never_overwrites_and_accepts_chunks(tmp_path: Path) -> None:
    folder = tmp_path / "sftp"
    folder.mkdir()
    integration = _Integration(1, {"path": str(folder)})
    first = drop_upload(integration, "../../etc/people.csv", [b"a,b\n"])
    second = drop_upload(integration, "people.csv", [b"a,", b"b\n", b"1,2\n"])
    assert first == folder / "people.csv" and second.parent == folder and second != first
    assert first.read_bytes() == b"a,b\n" and second.read_bytes() == b"a,b\n1,2\n"
    assert drop_upload(integration, ".hidden.csv", [b"a\n"]).name == "hidden.csv"  # visible to imports


@pytest.mark.parametrize(("name", "data", "code"), [
    ("people.xlsx", b"a,b\n", "bad_file"),
    ("people.csv", b"", "bad_file"),
    ("people.csv", b"x" * 1001, "file_too_large"),
])
def test_upload_refusals_leave_nothing_behind(tmp_path: Path, name: str, data: bytes, code: str) -> None:
    integration = _Integration(3)
    with pytest.raises(SourceError) as err:
        drop_upload(integration, name, io.BytesIO(data))
    assert err.value.code == code
    folder = tmp_path / "data" / "drop" / "3"
    assert not folder.exists() or not list(folder.iterdir())


def test_the_file_kind_is_registered_with_its_settings(tmp_path: Path) -> None:
    kind: SourceKind = kind_of("membership_file")
    assert REGISTRY["membership_file"] is kind and kind.display_name == "Membership file (CSV / SFTP)"
    assert [f.name for f in kind.settings_fields] == ["path"]
    assert kind.validate_settings({"path": str(tmp_path)}) == {"path": str(tmp_path)}
    assert kind.validate_settings({}) == {}
    for bad, words in (("relative/dir", "absolute"), (str(tmp_path / "nope"), "does not exist")):
        with pytest.raises(SourceError) as err:
            kind.validate_settings({"path": bad})
        assert err.value.code == "invalid_settings" and words in err.value.reason
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert not kind.check_settings({"path": str(locked)}).ok
    assert kind.tenant_address(_Integration(5, {"path": str(tmp_path)})) == str(tmp_path)  # type: ignore[arg-type]


def test_the_intellihr_kind_validates_its_settings_without_a_call() -> None:
    kind = kind_of("intellihr")
    assert [f.name for f in kind.settings_fields] == ["subdomain", "api_key"]
    assert [f.secret for f in kind.settings_fields] == [False, True]
    with pytest.raises(SourceError) as err:
        kind.validate_settings({"subdomain": "evil.example.com", "api_key": "k"})
    assert err.value.code == "invalid_subdomain"
    with pytest.raises(SourceError) as err:
        kind.validate_settings({"subdomain": "acme", "api_key": "  "})
    assert err.value.code == "bad_key"
    assert kind.validate_settings({"subdomain": "https://Acme.intellihr.net", "api_key": " k "}) == {
        "subdomain": "acme", "api_key": "k"}
