"""A programme's administrators: roles, invitations, deactivation, and who gets the import e-mails.

Every rule about administrators lives here and the portal (``/admins``), the CLI (``hrsync
admin …``) and the JSON API call it:

* **Roles** (:class:`~hrsync.store.enums.AdminRole`). Owners do everything and manage
  administrators; administrators do everything about integrations, imports, approvals, members and
  their own API tokens; read-only administrators look and download. :func:`may_change` (may this
  administrator change anything?) and :func:`may_manage_admins` are the two questions the
  interfaces ask.
* **The last owner.** A programme always keeps at least one active owner who can sign in (has
  accepted the invitation): demoting or deactivating the last one is refused, whoever asks, even
  when two owners demote each other at the same moment (the programme row is held for the check).
* **Deactivation** ends access at once: the account is refused at the next request, its open
  invitation and password-reset links are spent, its API tokens are revoked (a reactivated
  administrator makes new ones: a token copied into some system is not brought back to life), and
  its portal sessions are ended. Reactivation restores the account with its role and password.
* **Every change** is an activity-log row naming who made it (an administrator, or the command
  line and the operating-system user who ran it).
* **Import e-mails** go to the administrator who set the integration up, or to the programme's
  owners once that administrator is deactivated or gone (:func:`integration_recipients`, defined
  in :mod:`hrsync.notify.run_emails` so the e-mail code below the services can use it).
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrsync.domain.validation import InvalidValue, check_field
from hrsync.lifecycle.passwords import ADMIN_LINK_PURPOSES
from hrsync.lifecycle.sessions import end_sessions_for_admin
from hrsync.lifecycle.tokens import revoke_tokens
from hrsync.notify.outbox import queue_admin_invite
from hrsync.notify.run_emails import Recipients, active_owners, integration_recipients, recipients_of
from hrsync.services import activity
from hrsync.services.api_tokens import revoke_api_token
from hrsync.services.errors import NotFound, ServiceError
from hrsync.services.programmes import admin_by_email
from hrsync.services.roles import may_change, role_of
from hrsync.store.enums import AdminRole
from hrsync.store.locks import hold_row
from hrsync.store.models import AdminUser, ApiToken, Integration, Programme
from hrsync.store.types import is_row_id, utcnow

__all__ = [
    "ROLE_DESCRIPTIONS", "ROLE_LABELS", "Actor", "active_owners", "admin_in_programme", "deactivate",
    "integration_recipients", "invite", "list_admins", "may_change", "may_manage_admins", "parse_role",
    "reactivate", "recipients_sentence", "resend_invitation", "role_of", "set_role", "token_may_change",
]

ROLE_LABELS: Final[dict[AdminRole, str]] = {
    AdminRole.OWNER: "Owner",
    AdminRole.ADMINISTRATOR: "Administrator",
    AdminRole.READ_ONLY: "Read-only",
}
ROLE_DESCRIPTIONS: Final[dict[AdminRole, str]] = {
    AdminRole.OWNER: "Everything, and managing administrators",
    AdminRole.ADMINISTRATOR: "Integrations, imports, approvals, members and their own API tokens",
    AdminRole.READ_ONLY: "Sees every page and downloads files; changes nothing",
}
NAME_MAX: Final = 200

FORBIDDEN = "forbidden"
LAST_OWNER = "last_owner"


# ------------------------------------------------------------------------------------------------
# roles
# ------------------------------------------------------------------------------------------------


def token_may_change(session: Session, token: ApiToken) -> bool:
    """May an API token change anything? Not when the administrator who made it is read-only (a
    token without a known maker is refused by the token check itself, not here)."""
    creator = session.get(AdminUser, token.created_by_id) if token.created_by_id is not None else None
    return creator is None or may_change(creator)


def may_manage_admins(admin: AdminUser) -> bool:
    """Owners invite administrators, change their roles, deactivate and reactivate them."""
    return bool(admin.is_active) and role_of(admin) == AdminRole.OWNER


def parse_role(value: str | None, default: AdminRole = AdminRole.ADMINISTRATOR) -> AdminRole:
    """A role from a form or the command line (``read-only`` and ``Read only`` work too)."""
    text = (value or "").strip().lower().replace("-", "_").replace(" ", "_")
    if not text:
        return default
    try:
        return AdminRole(text)
    except ValueError:
        names = ", ".join(role.value for role in AdminRole)
        raise ServiceError(f"'{(value or '')[:40]}' is not a role; choose one of {names}.",
                           code="invalid_role") from None


# ------------------------------------------------------------------------------------------------
# who is acting
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a signed-in administrator, or the command line (``admin`` is ``None``)."""

    admin: AdminUser | None
    via: str

    @classmethod
    def portal(cls, admin: AdminUser) -> Actor:
        return cls(admin, "portal")

    @classmethod
    def command_line(cls) -> Actor:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no login name (a container's anonymous uid)
            user = "unknown user"
        return cls(None, f"command line ({user[:60]})")

    @property
    def admin_id(self) -> int | None:
        return self.admin.id if self.admin is not None else None

    @property
    def label(self) -> str:
        """How the activity log and messages name who acted."""
        if self.admin is None:
            return self.via
        return self.admin.email


def _require_owner(actor: Actor) -> None:
    if actor.admin is not None and not may_manage_admins(actor.admin):
        raise ServiceError("Only an owner of the programme can manage administrators.", code=FORBIDDEN)


def _record(session: Session, actor: Actor, target: AdminUser, action: str, **detail: Any) -> None:
    activity.record(session, programme_id=target.programme_id, admin_id=actor.admin_id, action=action,
                    detail={"admin_id": target.id, "email": target.email, "by": actor.label, "via": actor.via,
                            **detail})


# ------------------------------------------------------------------------------------------------
# reading
# ------------------------------------------------------------------------------------------------


def list_admins(session: Session, programme_id: int) -> list[AdminUser]:
    """The programme's administrators: active ones first, each group by e-mail address."""
    admins = session.scalars(
        select(AdminUser).where(AdminUser.programme_id == programme_id).order_by(AdminUser.email_lower)
    )
    return sorted(admins, key=lambda a: not a.is_active)


def admin_in_programme(session: Session, programme_id: int, admin_id: int) -> AdminUser:
    """One administrator of the programme; another programme's is not found."""
    admin = session.scalar(
        select(AdminUser).where(AdminUser.id == admin_id, AdminUser.programme_id == programme_id)
    ) if is_row_id(admin_id) else None
    if admin is None:
        raise NotFound("This administrator")
    return admin


def _display(admin: AdminUser) -> str:
    return f"{admin.name} ({admin.email})" if admin.name else admin.email


# ------------------------------------------------------------------------------------------------
# the last owner
# ------------------------------------------------------------------------------------------------


def _counts_as_owner(admin: AdminUser) -> bool:
    """An owner who can act: active and signed up (a pending invitation cannot sign in yet)."""
    return bool(admin.is_active) and role_of(admin) == AdminRole.OWNER and admin.password_hash is not None


def _keep_an_owner(session: Session, target: AdminUser, *, role: AdminRole, active: bool, doing: str) -> None:
    """Refuse a change that would leave the programme without an owner who can sign in (called
    after :func:`_hold_programme`, so the owners it counts are the latest)."""
    if not _counts_as_owner(target) or (active and role == AdminRole.OWNER):
        return
    others = [a for a in active_owners(session, target.programme_id) if a.id != target.id and _counts_as_owner(a)]
    if not others:
        raise ServiceError(
            f"{_display(target)} is the programme's last owner and cannot be {doing}. "
            "Make another administrator an owner first.",
            code=LAST_OWNER,
        )


def _hold_programme(session: Session, actor: Actor, target: AdminUser) -> None:
    """Lock the programme's row until the change commits, then re-read who acts and whom it is
    about: two owners demoting each other at the same moment are served one after the other, and
    the second sees the first's change (and is refused if it would leave no owner, or if it made
    them no longer an owner). One rule for SQLite and PostgreSQL (:func:`hrsync.store.locks.hold_row`)."""
    hold_row(session, Programme, target.programme_id)
    session.refresh(target)
    if actor.admin is not None:
        session.refresh(actor.admin)
    _require_owner(actor)


# ------------------------------------------------------------------------------------------------
# changes
# ------------------------------------------------------------------------------------------------


def invite(session: Session, actor: Actor, programme: Programme, email: str, name: str = "",
           role: AdminRole = AdminRole.ADMINISTRATOR) -> AdminUser:
    """Invite a new administrator with ``role``: they get an e-mail with a link to choose a password."""
    _require_owner(actor)
    email, name = (email or "").strip(), " ".join((name or "").split())
    if not email:
        raise ServiceError("Enter the e-mail address of the person to invite.", code="email_required")
    try:
        clean = check_field("email", email)
    except InvalidValue as exc:
        raise ServiceError(f"'{email[:80]}' {exc.reason}.", code="invalid_email") from None
    if not clean:
        raise ServiceError("Enter the e-mail address of the person to invite.", code="email_required")
    if len(name) > NAME_MAX or "<" in name or ">" in name:
        raise ServiceError(f"The name may have up to {NAME_MAX} characters, without < or >.", code="invalid_name")
    if admin_by_email(session, programme.id, clean) is not None:
        raise ServiceError(f"{clean} is already an administrator of this programme.", code="exists")
    invited = AdminUser(programme_id=programme.id, email=clean, name=name or None, password_hash=None,
                        role=role.value)
    session.add(invited)
    session.flush()
    inviter = actor.admin
    queue_admin_invite(session, invited, programme,
                       invited_by=(inviter.name or inviter.email) if inviter is not None else None)
    _record(session, actor, invited, "invited_admin", role=role.value)
    return invited


def resend_invitation(session: Session, actor: Actor, target: AdminUser) -> bool:
    """A new invitation link for an administrator who has not accepted yet; ``False`` if they have."""
    _require_owner(actor)
    if not target.is_active:
        raise ServiceError(f"{_display(target)} is deactivated: reactivate them before inviting them again.",
                           code="deactivated")
    if target.password_hash:
        return False
    inviter = actor.admin
    programme = session.get(Programme, target.programme_id)
    assert programme is not None
    queue_admin_invite(session, target, programme,
                       invited_by=(inviter.name or inviter.email) if inviter is not None else None)
    _record(session, actor, target, "reinvited_admin")
    return True


def set_role(session: Session, actor: Actor, target: AdminUser, role: AdminRole) -> bool:
    """Give ``target`` another role; ``False`` when it already had it. The last owner keeps theirs."""
    _require_owner(actor)
    _hold_programme(session, actor, target)
    before = role_of(target)
    if before == role:
        return False
    _keep_an_owner(session, target, role=role, active=bool(target.is_active), doing="made "
                   + ("an administrator" if role == AdminRole.ADMINISTRATOR else "read-only"))
    target.role = role.value
    _record(session, actor, target, "changed_admin_role", role=role.value, previous_role=before.value)
    return True


def deactivate(session: Session, actor: Actor, target: AdminUser) -> bool:
    """End ``target``'s access at once; ``False`` if already deactivated. Never the last owner."""
    _require_owner(actor)
    _hold_programme(session, actor, target)
    if not target.is_active:
        return False
    _keep_an_owner(session, target, role=role_of(target), active=False, doing="deactivated")
    now = utcnow()
    target.is_active = False
    target.deactivated_at = now
    links = revoke_tokens(session, admin_id=target.id, purposes=ADMIN_LINK_PURPOSES, now=now)
    tokens = list(session.scalars(select(ApiToken).where(
        ApiToken.programme_id == target.programme_id, ApiToken.created_by_id == target.id,
        ApiToken.revoked_at.is_(None))))
    for token in tokens:
        revoke_api_token(session, target.programme_id, token.id, revoked_by_id=actor.admin_id)
    _end_portal_sessions(session, target.id)
    _record(session, actor, target, "deactivated_admin", role=role_of(target).value,
            revoked_api_tokens=len(tokens), spent_links=links)
    return True


def reactivate(session: Session, actor: Actor, target: AdminUser) -> bool:
    """Give a deactivated administrator their access back (same role and password); ``False`` if active."""
    _require_owner(actor)
    if target.is_active:
        return False
    target.is_active = True
    target.deactivated_at = None
    _record(session, actor, target, "reactivated_admin", role=role_of(target).value)
    return True


def _end_portal_sessions(session: Session, admin_id: int) -> None:
    """End the administrator's server-side portal sessions at once (every request also re-reads
    ``is_active``, so a session that raced this still ends at its next request)."""
    end_sessions_for_admin(session, admin_id, "deactivated")


# ------------------------------------------------------------------------------------------------
# who receives an integration's e-mails
# ------------------------------------------------------------------------------------------------


def _names(admins: tuple[AdminUser, ...]) -> str:
    shown = [_display(a) for a in admins]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def recipients_sentence(session: Session, integration: Integration) -> str:
    """What the dashboard and the review step say about who receives the import e-mails."""
    found: Recipients = recipients_of(session, integration)
    if not found.fallback:
        return f"Import e-mails go to {_names(found.admins)}, who set up this integration."
    if found.instead_of is not None:
        why = f"because {found.instead_of.name or found.instead_of.email}, who set it up, was deactivated"
    else:
        why = "because the administrator who set it up no longer has an account"
    if not found.admins:
        return f"Import e-mails go to nobody, {why} and the programme has no active owner."
    return f"Import e-mails go to the programme's owners: {_names(found.admins)}, {why}."
