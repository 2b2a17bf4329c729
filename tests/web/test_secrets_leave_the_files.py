"""A copy of the SQLite files holds no secret the portal removed (issue 22, item 4).

The portal keeps the database open (as in production), so its write-ahead log ``hrsync.db-wal``
stays; the tests read the raw bytes of the database file (free pages included) and of the log, as
someone who copied them would, after the paths that really redact: a reset e-mail sent, one that
fails for good, one cancelled by a password change.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from tests.notify.helpers import free_port
from tests.web.conftest import Portal, csrf_of
from tests.web.test_links_and_logs import _reset_link, refuse_due_e_mails

from hrsync.notify.catcher import MailCatcher
from hrsync.notify.delivery import send_due
from hrsync.store.db import session_factory, session_scope
from hrsync.store.models import AdminUser


def _raw_files(portal: Portal) -> bytes:
    """The database file and its write-ahead log, byte for byte (a copy of the data directory)."""
    database = portal.data_dir / "hrsync.db"
    return b"".join(path.read_bytes() for path in (database, Path(f"{database}-wal")) if path.exists())


def _link_works(portal: Portal, token: str) -> bool:
    page = portal.client().get(f"/admin/reset-password/{token}")
    return page.status_code == 200 and 'name="password"' in page.text


def test_a_sent_reset_links_token_is_in_no_file_and_works_only_from_the_e_mail(portal: Portal,
                                                                                tmp_path: Path) -> None:
    _, _, email = portal.new_admin()
    token = _reset_link(portal, email)
    assert token.encode() in _raw_files(portal)  # planted: the grep finds it while the e-mail waits

    with MailCatcher("127.0.0.1", free_port(), tmp_path / "mail") as catcher:
        report = send_due(session_factory(), smtp_url=catcher.url)
    assert report.sent >= 1

    assert token.encode() not in _raw_files(portal)  # redacted from the row, the free space and the log
    assert _link_works(portal, token)  # its recipient still uses it: only the e-mail holds it now


def test_a_failed_reset_links_token_is_in_no_file_and_no_longer_works(portal: Portal) -> None:
    _, _, email = portal.new_admin()
    token = _reset_link(portal, email)
    assert token.encode() in _raw_files(portal) and _link_works(portal, token)
    refuse_due_e_mails()

    assert token.encode() not in _raw_files(portal)
    assert not _link_works(portal, token)


def test_a_password_change_leaves_neither_the_cancelled_link_nor_the_old_hash_in_the_files(portal: Portal) -> None:
    _, admin_id, email = portal.new_admin()
    with session_scope() as session:
        old_hash = session.scalars(select(AdminUser.password_hash).where(AdminUser.id == admin_id)).one()
    waiting = _reset_link(portal, email)  # queued, never sent: the change cancels it
    used = _reset_link(portal, email)
    assert old_hash and old_hash.encode() in _raw_files(portal) and waiting.encode() in _raw_files(portal)

    client = portal.client()
    page = client.get(f"/admin/reset-password/{used}")
    done = client.post(f"/admin/reset-password/{used}", data={
        "password": "a brand new passphrase", "confirm": "a brand new passphrase", "csrf_token": csrf_of(page.text)})
    assert done.status_code == 303

    raw = _raw_files(portal)
    assert old_hash.encode() not in raw
    assert waiting.encode() not in raw and used.encode() not in raw
    assert not _link_works(portal, waiting) and not _link_works(portal, used)
