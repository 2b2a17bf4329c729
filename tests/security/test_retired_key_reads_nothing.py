"""After ``hrsync keys add``, ``rotate`` and ``retire``, a leaked retired key reads nothing in a copy of
the database's files (issue 22, item 4): not in a row, a free page, the write-ahead log.

A running portal (``hrsync serve``) keeps the SQLite database open, so its ``-wal`` file survives each
command. Every Fernet token found in the raw bytes is tried with the retired key.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import httpx
import psycopg
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from tests.security.test_keys_rotate import (
    API_KEYS,
    _file_keys,
    _hrsync,
    _ok,
    _store_integrations,
    _stored,
    _url,
)
from tests.web.serve_process import hrsync_serve

from hrsync.config import Settings
from hrsync.store import dispose_engines, session_scope
from hrsync.store.models import Integration

FERNET_TOKEN = re.compile(rb"gAAAAA[A-Za-z0-9_\-]{40,}={0,2}")


def _raw_files(data_dir: Path) -> bytes:
    database = data_dir / "hrsync.db"
    return b"".join(path.read_bytes() for path in (database, Path(f"{database}-wal")) if path.exists())


def _readable_with(key: str, raw: bytes) -> list[bytes]:
    """The plaintexts of every Fernet token in ``raw`` that ``key`` decrypts (a row's cells are stored
    back to back, so a token may run into the next cell's letters: every base64 length is tried)."""
    fernet, found = Fernet(key.encode()), []
    for run in set(FERNET_TOKEN.findall(raw)):
        for length in range(len(run) - len(run) % 4, 99, -4):
            try:
                found.append(fernet.decrypt(run[:length]))
                break
            except InvalidToken:
                continue
    return found


def test_after_rotate_and_retire_no_file_holds_a_ciphertext_the_retired_key_reads(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    assert _hrsync(data_dir, "db", "upgrade").returncode == 0
    _store_integrations(data_dir, Settings(data_dir=data_dir, secret_key=None), 5)
    _rename_integrations(data_dir)  # their rows change size: SQLite rewrites each cell elsewhere in the page
    [old] = _file_keys(data_dir)
    planted = _readable_with(old, _raw_files(data_dir))
    assert sorted(set(planted)) == sorted(k.encode() for k in API_KEYS[:5])  # the grep finds them

    with hrsync_serve(data_dir, tmp_path) as portal:  # a portal holds the database open throughout
        assert httpx.get(f"{portal.base_url}/readyz", timeout=60).status_code == 200

        assert _ok(data_dir, "keys", "add") == {"keys": 2}
        rotated = _ok(data_dir, "keys", "rotate", "--batch-size", "2")
        assert rotated["rotated"] == 5
        assert _readable_with(old, _raw_files(data_dir)) == []  # gone as soon as they are re-encrypted

        retired = _ok(data_dir, "keys", "retire")
        assert retired["keys"] == 1
        raw = _raw_files(data_dir)
        assert _readable_with(old, raw) == []
        [new] = _file_keys(data_dir)
        assert sorted(_readable_with(new, raw)) == sorted(k.encode() for k in API_KEYS[:5])  # still usable
        assert httpx.get(f"{portal.base_url}/readyz", timeout=60).status_code == 200


def _rename_integrations(data_dir: Path) -> None:
    """Each integration's address edited, as the portal or the CLI would, through hrsync's own engine."""
    with session_scope(_url(data_dir)) as session:
        for integration in session.scalars(select(Integration)):
            old = (integration.settings or {}).get("subdomain")
            integration.settings = {"subdomain": f"{old}-renamed-after-a-merger"}
    dispose_engines()


def test_db_scrub_rewrites_an_older_installations_files(tmp_path: Path) -> None:
    """Free pages written before secure_delete was on (an older hrsync) are gone after ``hrsync db scrub``."""
    data_dir = tmp_path / "var"
    assert _hrsync(data_dir, "db", "upgrade").returncode == 0
    _store_integrations(data_dir, Settings(data_dir=data_dir, secret_key=None), 3)
    [key] = _file_keys(data_dir)
    older = sqlite3.connect(data_dir / "hrsync.db", isolation_level=None)  # as an older hrsync wrote
    try:
        older.execute("PRAGMA secure_delete=OFF")
        older.execute("UPDATE integration SET secret_encrypted = NULL")
        assert len(_readable_with(key, _raw_files(data_dir))) == 3  # cleared, yet still in the files

        scrubbed = _ok(data_dir, "db", "scrub")
        assert scrubbed["log_cut"] is True
        assert _readable_with(key, _raw_files(data_dir)) == []
    finally:
        older.close()


def test_retire_rewrites_the_encrypted_tables_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    """PostgreSQL keeps an overwritten row as a dead tuple: retiring rewrites the table into a new file."""
    data_dir = tmp_path / "var"
    url = postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
    env = {"HRSYNC_DATABASE_URL": url}
    assert _hrsync(data_dir, "db", "upgrade", **env).returncode == 0
    _store_integrations(data_dir, Settings(data_dir=data_dir, secret_key=None), 2, url=url)

    def relfilenode() -> int:
        with psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
            row = conn.execute("SELECT relfilenode FROM pg_class WHERE relname = 'integration'").fetchone()
        assert row is not None
        return int(row[0])

    _ok(data_dir, "keys", "add", **env)
    assert _ok(data_dir, "keys", "rotate", **env)["rotated"] == 2
    before = relfilenode()
    assert _ok(data_dir, "keys", "retire", **env)["keys"] == 1
    assert relfilenode() != before  # VACUUM FULL: the dead tuples' file is gone
    assert len(_stored(data_dir, url)) == 2
    assert _ok(data_dir, "db", "scrub", **env)["log_cut"] is True
