"""E-mails: what is waiting in the outbox for this programme and, in the demo, what was sent.

The outbox part is there in every mode ("nothing waits or fails" when SMTP is down: the rows stay
queued, and this page shows them with the last error). The demo's mail catcher writes each
message it receives to ``<data_dir>/mail``; the list shows only this programme's messages (each
carries an ``X-Hrsync-Programme`` header), never another tenant's.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from hrsync.config import get_settings
from hrsync.notify.catcher import read_caught
from hrsync.notify.delivery import outbox_backlog
from hrsync.store.models import OutboxEmail, OutboxStatus
from hrsync.web.deps import CurrentAdmin, SessionDep, is_demo, render

router = APIRouter(include_in_schema=False)

SHOWN = 50


@router.get("/sent-emails")
def sent_emails_alias() -> Response:
    return RedirectResponse("/emails", status_code=307)


@router.get("/emails")
def emails_page(request: Request, session: SessionDep, admin: CurrentAdmin) -> Response:
    waiting = session.scalars(
        select(OutboxEmail)
        .where(
            OutboxEmail.programme_id == admin.programme_id,
            OutboxEmail.status.in_([OutboxStatus.QUEUED.value, OutboxStatus.SENDING.value, OutboxStatus.FAILED.value]),
        )
        .order_by(OutboxEmail.id.desc())
        .limit(SHOWN)
    ).all()
    context: dict[str, Any] = {
        "nav": "emails",
        "backlog": outbox_backlog(session, programme_id=admin.programme_id),
        "waiting": waiting,
        "smtp_configured": bool(get_settings().smtp_url),
        "caught": [],
    }
    if is_demo():
        mine = str(admin.programme_id)
        context["caught"] = [
            m for m in read_caught(get_settings().data_dir / "mail", limit=500)
            if m.message.get("X-Hrsync-Programme") == mine
        ][:SHOWN]
    response = render(request, "emails/list.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response
