"""E-mails: what is waiting in the outbox for this programme and, in the demo, what was sent.

The outbox part is there in every mode ("nothing waits or fails" when SMTP is down: the rows stay
queued, and this page shows them with the last error). The demo's mail catcher writes each
message it receives to ``<data_dir>/mail``; the list shows only this programme's messages (each
carries an ``X-Hrsync-Programme`` header), never another programme's, a page at a time.
Pre-hires count as "scheduled for later": their invitation is queued on their start date.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from hrsync.config import get_settings
from hrsync.notify.catcher import read_caught_page
from hrsync.notify.delivery import outbox_backlog
from hrsync.notify.outbox import cancelled_reason, prehire_invitations
from hrsync.store.models import OutboxEmail, OutboxStatus
from hrsync.web.deps import CurrentAdmin, SessionDep, is_demo, render

router = APIRouter(include_in_schema=False)

SHOWN = 50
#: An e-mail's state in the queue, as the page words it.
OUTBOX_LABELS = {"queued": "Waiting", "sending": "Sending", "failed": "Failed: tried again later",
                 "sent": "Sent"}
CAUGHT_PAGE = 20  # received messages per page (each is parsed and its text rendered)


@router.get("/sent-emails")
def sent_emails_alias() -> Response:
    return RedirectResponse("/emails", status_code=307)


@router.get("/emails")
def emails_page(request: Request, session: SessionDep, admin: CurrentAdmin, page: int = 1) -> Response:
    waiting = session.scalars(
        select(OutboxEmail)
        .where(
            OutboxEmail.programme_id == admin.programme_id,
            OutboxEmail.status.in_([OutboxStatus.QUEUED.value, OutboxStatus.SENDING.value, OutboxStatus.FAILED.value]),
        )
        .order_by(OutboxEmail.id.desc())
        .limit(SHOWN)
    ).all()
    prehires, first_start = prehire_invitations(session, admin.programme_id)
    context: dict[str, Any] = {
        "nav": "emails",
        "outbox_labels": OUTBOX_LABELS,
        "backlog": outbox_backlog(session, programme_id=admin.programme_id),
        "prehires": prehires, "first_start": first_start,
        "waiting": waiting, "cancelled_reason": cancelled_reason,
        "smtp_configured": bool(get_settings().smtp_url),
        "caught": [], "page": 1, "more": False,
    }
    if is_demo():
        page = max(1, min(page, 10_000))
        context["caught"], context["more"] = read_caught_page(
            get_settings().data_dir / "mail", header="X-Hrsync-Programme", value=str(admin.programme_id),
            offset=(page - 1) * CAUGHT_PAGE, limit=CAUGHT_PAGE)
        context["page"] = page
    response = render(request, "emails/list.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response
