"""Who receives an integration's import e-mails: the administrator who set it up, or, once they are
deactivated or gone, the programme's active owners. Delivered over SMTP to a real catcher (aiosmtpd)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from hrsync.notify.catcher import MailCatcher
from hrsync.notify.delivery import send_due
from hrsync.notify.outbox import queue_run_summary
from hrsync.services import admins
from hrsync.store.models import AdminUser, ImportRun, Integration

from .helpers import Seed, utc


def _people(factory: sessionmaker[Session], seed: Seed) -> None:
    """Two active owners, a deactivated owner and a read-only administrator beside the creator."""
    with factory.begin() as s:
        s.add_all([
            AdminUser(programme_id=seed.programme_id, email="ann@acme.example", name="Ann Owner", role="owner",
                      password_hash="x"),
            AdminUser(programme_id=seed.programme_id, email="bob@acme.example", role="owner", password_hash="x"),
            AdminUser(programme_id=seed.programme_id, email="gone@acme.example", role="owner", password_hash="x",
                      is_active=False),
            AdminUser(programme_id=seed.programme_id, email="reader@acme.example", role="read_only",
                      password_hash="x"),
        ])


def _finish_run(factory: sessionmaker[Session], seed: Seed, status: str) -> None:
    with factory.begin() as s:
        run = ImportRun(integration_id=seed.integration_id, programme_id=seed.programme_id, status=status,
                        created=1, finished_at=utc(2025, 4, 5, 10, 0))
        s.add(run)
        s.flush()
        queue_run_summary(s, run)


def _set_creator_active(factory: sessionmaker[Session], seed: Seed, active: bool) -> None:
    with factory.begin() as s:
        creator = s.get(AdminUser, seed.admin_id)
        assert creator is not None
        change = admins.deactivate if not active else admins.reactivate
        assert change(s, admins.Actor.command_line(), creator)


def _delivered(factory: sessionmaker[Session], mail: MailCatcher, count: int) -> list[tuple[str, str]]:
    send_due(factory, smtp_url=mail.url)
    messages = mail.wait_for(count)
    return sorted((m.recipients[0], str(m.message.get("X-Hrsync-Kind"))) for m in messages)


def test_creator_gets_them_while_active_then_the_owners_then_the_creator_again(
    factory: sessionmaker[Session], seed: Seed, mail: MailCatcher
) -> None:
    _people(factory, seed)
    _finish_run(factory, seed, "succeeded")
    assert _delivered(factory, mail, 1) == [("owner@acme.example", "run_summary")]

    _set_creator_active(factory, seed, False)
    _finish_run(factory, seed, "succeeded")
    _finish_run(factory, seed, "held")
    assert _delivered(factory, mail, 5) == [
        ("ann@acme.example", "run_held"), ("ann@acme.example", "run_summary"),
        ("bob@acme.example", "run_held"), ("bob@acme.example", "run_summary"),
        ("owner@acme.example", "run_summary"),  # the first run's, before the deactivation
    ]
    with factory() as s:
        integration = s.get(Integration, seed.integration_id)
        assert integration is not None
        assert [a.email for a in admins.integration_recipients(s, integration)] == ["ann@acme.example",
                                                                                    "bob@acme.example"]
        assert admins.recipients_sentence(s, integration) == (
            "Import e-mails go to the programme's owners: Ann Owner (ann@acme.example) and bob@acme.example, "
            "because Olivia Owner, who set it up, was deactivated.")

    _set_creator_active(factory, seed, True)
    _finish_run(factory, seed, "failed")
    delivered = _delivered(factory, mail, 6)
    assert ("owner@acme.example", "run_failed") in delivered
    assert sum(1 for to, _ in delivered if to in ("gone@acme.example", "reader@acme.example")) == 0


def test_a_creator_whose_account_is_gone_hands_the_emails_to_the_owners(
    factory: sessionmaker[Session], seed: Seed, mail: MailCatcher
) -> None:
    _people(factory, seed)
    with factory.begin() as s:
        creator = s.get(AdminUser, seed.admin_id)
        s.delete(creator)  # the foreign key sets the integration's owner_id to null
    with factory() as s:
        integration = s.get(Integration, seed.integration_id)
        assert integration is not None and integration.owner_id is None
        assert "because the administrator who set it up no longer has an account" in \
            admins.recipients_sentence(s, integration)
    _finish_run(factory, seed, "succeeded")
    assert [to for to, _ in _delivered(factory, mail, 2)] == ["ann@acme.example", "bob@acme.example"]
