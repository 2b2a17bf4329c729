"""*Invite again* on a member's page: a new invitation for a member who has not set a password yet.

For the member whose first invitation went to an address that has since changed (the import's
``links_revoked`` warning says to use it), or was lost. The rule is :func:`may_invite_again`; the
invitation itself is :func:`hrsync.notify.outbox.queue_invitation`'s (its link is made when it is
sent, to the member's address then), and the activity log records who asked.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from hrsync.domain.vocabulary import MemberStatus
from hrsync.notify.outbox import queue_invitation
from hrsync.services import activity
from hrsync.services.errors import ServiceError
from hrsync.store.models import AdminUser, Member, Programme

ACTION = "reinvited_member"


def may_invite_again(member: Member) -> bool:
    """Invited, with an address, and no password set yet (an active member signs in or resets instead)."""
    return member.status == MemberStatus.INVITED.value and bool(member.email) and not member.password_hash


def invite_again(session: Session, programme: Programme, member: Member, actor: AdminUser | None) -> None:
    """Queue a new invitation in the caller's transaction; a :class:`ServiceError` says why not."""
    if not may_invite_again(member):
        raise ServiceError("Only a member who was invited and has not set a password yet can be invited again.",
                           code="not_invitable")
    if queue_invitation(session, member, programme, resend=True) is None:
        raise ServiceError(f"An invitation to {member.email} is already waiting to be sent.", code="waiting")
    activity.record(session, programme_id=member.programme_id, admin_id=actor.id if actor else None,
                    integration_id=member.integration_id, action=ACTION,
                    detail={"member_id": member.id, "employee_id": member.employee_id})


__all__ = ["ACTION", "invite_again", "may_invite_again"]
