"""The daily close-down job: leaver reminders and deletion, and pre-hires whose start date came.

Idempotent by construction, so it can run twice a day, be restarted, or run on two machines:

* reminders are outbox rows keyed by member, leaver period and window day - a second pass finds
  the row and queues nothing;
* a missed day is caught up: on each pass the *latest* reminder day already reached is queued if
  it never was, so a job that did not run on day 30 sends that reminder on day 31 (once), while
  a job down for weeks sends one catch-up, not a burst of stale reminders;
* deletion only touches members still in ``leaver`` status whose window has ended.

Dates are the programme's local dates: "day 60" must not end at midnight UTC for a company in
Sydney (the peers' "leaver timing off by a timezone" complaint).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from hrsync.domain.vocabulary import MemberStatus, programme_today
from hrsync.lifecycle.access import REMINDER_DAYS, access_until_for, window_day
from hrsync.notify.outbox import forget_member_emails, queue_invitation, queue_leaver_reminder
from hrsync.store import scrub
from hrsync.store.models import AuthToken, Integration, IntegrationStatus, Member, MemberEvent, Programme
from hrsync.store.types import utcnow

BATCH = 200
ACTOR = "closedown"


def _chunks(ids: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def run_closedown(
    factory: sessionmaker[Session], *, today: date | None = None, now: datetime | None = None
) -> dict[str, int]:
    """Run one close-down pass over every programme; return what it did, by count.

    ``today`` fixes the date for all programmes (tests, a manual catch-up); by default each
    programme uses its own local date. Work is committed in small batches, so a pass over a big
    programme never holds a long transaction, and an interrupted pass simply continues next time.
    """
    now = now or utcnow()
    counts: Counter[str] = Counter()
    with factory() as s:
        programmes = [(p.id, p) for p in s.scalars(select(Programme).order_by(Programme.id)).all()]
    for programme_id, programme in programmes:
        local_today = today or programme_today(programme.timezone, now)
        with factory() as s:
            leaver_ids = list(
                s.scalars(
                    select(Member.id)
                    .where(Member.programme_id == programme_id, Member.status == MemberStatus.LEAVER.value)
                    .order_by(Member.id)
                ).all()
            )
            prehire_ids = list(
                s.scalars(
                    select(Member.id)
                    .where(
                        Member.programme_id == programme_id,
                        Member.status == MemberStatus.PENDING.value,
                        Member.start_date.is_not(None),
                        Member.start_date <= local_today,
                    )
                    .order_by(Member.id)
                ).all()
            )
        for chunk in _chunks(leaver_ids, BATCH):
            with factory.begin() as s:
                prog = s.get(Programme, programme_id)
                assert prog is not None
                leavers = s.scalars(
                    select(Member).where(Member.id.in_(chunk), Member.status == MemberStatus.LEAVER.value)
                )
                for member in leavers:
                    counts.update(close_down_leaver(s, member, prog, today=local_today, now=now))
        for chunk in _chunks(prehire_ids, BATCH):
            with factory.begin() as s:
                prog = s.get(Programme, programme_id)
                assert prog is not None
                prehires = s.scalars(
                    select(Member).where(Member.id.in_(chunk), Member.status == MemberStatus.PENDING.value)
                )
                for member in prehires:
                    counts.update(start_prehire(s, member, prog, today=local_today, now=now))
        counts["programmes"] += 1
    keys = (
        "programmes",
        "leavers_checked",
        "access_until_set",
        "reminders_queued",
        "deleted",
        "prehires_invited",
        "prehires_activated",
        "prehires_waiting",
    )
    return {k: int(counts.get(k, 0)) for k in keys}


def close_down_leaver(
    session: Session, member: Member, programme: Programme, *, today: date, now: datetime
) -> Counter[str]:
    """One leaver's step for ``today``: fill in the window, queue the due reminder, or delete."""
    done: Counter[str] = Counter(leavers_checked=1)
    if member.leaver_since is None:  # marked a leaver by something that did not date it
        member.leaver_since = today
    if member.access_until is None:
        member.access_until = access_until_for(member.leaver_since)
        done["access_until_set"] += 1
    if today >= member.access_until:
        delete_personal_data(session, member, now=now, reason="leaver window ended")
        done["deleted"] += 1
        return done
    day = window_day(member.leaver_since, today)
    reached = [d for d in REMINDER_DAYS if d <= day]
    if reached and queue_leaver_reminder(session, member, programme, day=max(reached), today=today):
        done["reminders_queued"] += 1
    return done


def delete_personal_data(session: Session, member: Member, *, now: datetime, reason: str) -> None:
    """Turn a member into an anonymous tombstone.

    The row stays (its id, programme, status ``deleted``, leaver dates) so member counts, import
    history and events still add up; names, addresses, identifiers, attributes, the password and
    every open link go, and the texts of past events and e-mails are scrubbed. The same person
    coming back later no longer matches anything and becomes a new member.
    """
    member_id = member.id
    member.email = None
    member.email_lower = None
    member.first_name = None
    member.last_name = None
    member.employee_id = None
    member.source_id = None
    member.attributes = {}
    member.password_hash = None
    scrub.after_commit(session)  # what was removed leaves the database's files at commit
    member.employment_status = None
    member.start_date = None
    member.leaving_date = None
    member.status = MemberStatus.DELETED.value
    member.deleted_at = now
    session.execute(
        update(MemberEvent)
        .where(MemberEvent.member_id == member_id)
        .values(changes=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(AuthToken).where(AuthToken.member_id == member_id))
    forget_member_emails(session, member_id, reason=reason)
    session.add(
        MemberEvent(
            programme_id=member.programme_id,
            member_id=member_id,
            kind="deleted",
            changes={"reason": reason},
            actor=ACTOR,
            created_at=now,
        )
    )


def start_prehire(
    session: Session, member: Member, programme: Programme, *, today: date, now: datetime
) -> Counter[str]:
    """A pre-hire whose start date arrived: invite them, or make them active without an e-mail.

    Invitations need the integration to be live with welcome e-mails on. While the integration is
    not live (draft, paused, revoked) the member stays pending and is looked at again tomorrow, so
    nobody is invited by an integration that was never published.
    """
    done: Counter[str] = Counter()
    integration = session.get(Integration, member.integration_id) if member.integration_id else None
    if integration is not None and integration.status != IntegrationStatus.LIVE.value:
        done["prehires_waiting"] += 1
        return done
    old = member.status
    if integration is not None and integration.welcome_email and member.email:
        member.status = MemberStatus.INVITED.value
        queue_invitation(session, member, programme, now=now)
        done["prehires_invited"] += 1
    else:
        member.status = MemberStatus.ACTIVE.value
        done["prehires_activated"] += 1
    session.add(
        MemberEvent(
            programme_id=member.programme_id,
            member_id=member.id,
            kind="status_changed",
            changes={"status": {"old": old, "new": member.status}, "reason": "start date reached"},
            actor=ACTOR,
            created_at=now,
        )
    )
    return done
