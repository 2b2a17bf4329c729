"""The SCIM door's integration: its token, and what a SCIM client may read (docs/scim.md).

A SCIM integration reads nothing: an identity provider pushes Users to ``<HRSYNC_BASE_URL>/scim/v2``
with the integration's bearer token. The token is 256 random bits behind a ``scim_`` prefix, shown
once; only its SHA-256 is kept (in the integration's settings). It works only while the integration
is live: pausing, revoking or deleting the integration stops it at once, and rotating replaces it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from hrsync.config import get_settings
from hrsync.domain import validate_mapping
from hrsync.domain.vocabulary import MemberStatus, email_key
from hrsync.scim.filters import EMAIL, EMPLOYEE_ID, EXTERNAL_ID, ID, USER_NAME, Criteria, Equals
from hrsync.scim.resources import StoredUser
from hrsync.services import activity
from hrsync.services import integrations as integrations_svc
from hrsync.services.errors import ServiceError
from hrsync.store.models import AdminUser, Integration, IntegrationStatus, Member, Programme, ScimUser
from hrsync.store.types import utcnow

KIND = "scim"
TOKEN_PREFIX = "scim_"  # noqa: S105 - a public marker, not a secret
SCIM_PATH = "/scim/v2"


def base_url() -> str:
    """Where SCIM clients are pointed: ``<HRSYNC_BASE_URL>/scim/v2``."""
    return get_settings().base_url.rstrip("/") + SCIM_PATH


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _new_token(integration: Integration, actor: AdminUser | None) -> str:
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    integration.settings = {**(integration.settings or {}), "token_sha256": _digest(raw),
                            "token_prefix": raw[:12], "token_made_at": utcnow().isoformat(),
                            "token_made_by": actor.id if actor is not None else None}
    return raw


LABEL_MAX = 80


def clean_label(label: str | None) -> str | None:
    """The integration's own name ("Entra ID, production"): one line, at most 80 characters; None if blank."""
    text = " ".join((label or "").split())
    if len(text) > LABEL_MAX:
        raise ServiceError(f"The name is at most {LABEL_MAX} characters.", code="label")
    return text or None


def set_label(integration: Integration, label: str | None) -> None:
    settings = {k: v for k, v in (integration.settings or {}).items() if k != "label"}
    clean = clean_label(label)
    integration.settings = {**settings, "label": clean} if clean else settings


def label_of(integration: Integration) -> str | None:
    value = (integration.settings or {}).get("label")
    return str(value) if value else None


def start_scim_integration(session: Session, programme: Programme, owner: AdminUser, *, label: str | None = None,
                           welcome_email: bool = True, leaver_threshold_pct: float = 10.0,
                           mapping: dict[str, str] | None = None) -> Integration:
    """A SCIM integration in draft: no token yet (the portal's set-up flow maps it, then publishes)."""
    clean = clean_label(label)
    integration = integrations_svc.create_integration(
        session, programme, owner, kind=KIND, welcome_email=welcome_email, mapping=mapping,
        leaver_threshold_pct=leaver_threshold_pct)
    set_label(integration, clean)
    return integration


def publish_scim(session: Session, integration: Integration, actor: AdminUser | None) -> str:
    """Make a draft SCIM integration live with its first token (returned once: only its hash is kept).

    The one rule for the CLI's ``integration add --source scim`` and the portal's *Publish*."""
    if integration.kind != KIND:
        raise ServiceError("Only a SCIM integration has a SCIM token.", code="not_scim")
    if integration.status != IntegrationStatus.DRAFT.value:
        raise ServiceError("This SCIM integration is already published: rotate its token to get a new one.",
                           code="published")
    problems = validate_mapping(integrations_svc.mapping_of(integration))
    if problems:
        raise ServiceError(problems[0], code="mapping")
    raw = _new_token(integration, actor)
    integration.status = IntegrationStatus.LIVE.value
    integration.published_at = utcnow()
    integration.wizard_step = None
    activity.record(session, programme_id=integration.programme_id, integration_id=integration.id,
                    admin_id=actor.id if actor else None, action="published", detail={"kind": KIND})
    return raw


def create_scim_integration(session: Session, programme: Programme, owner: AdminUser, *,
                            welcome_email: bool = True, leaver_threshold_pct: float = 10.0,
                            mapping: dict[str, str] | None = None,
                            label: str | None = None) -> tuple[Integration, str]:
    """A live SCIM integration and its token (returned once: only its hash is kept)."""
    integration = start_scim_integration(session, programme, owner, label=label, welcome_email=welcome_email,
                                         leaver_threshold_pct=leaver_threshold_pct, mapping=mapping)
    return integration, publish_scim(session, integration, None)


@dataclass(frozen=True)
class TokenView:
    """What a page shows of a SCIM integration's token: where clients point, how it starts, when it was
    made or rotated and by whom (never the token nor its hash)."""

    base_url: str
    prefix: str
    made_at: datetime | None
    made_by: str  # "the command line" when no administrator made it
    rotated: bool  # made by *Rotate token* (not at publishing)
    label: str | None
    refused: str | None = None  # why requests are refused now, in words (None while the integration is live)


#: Why a SCIM integration refuses its token, by the integration's status (a live one accepts it).
REFUSED_WORDS = {
    IntegrationStatus.DRAFT.value: "Refused until the integration is published",
    IntegrationStatus.PAUSED.value: "Refused while the integration is paused",
    IntegrationStatus.REVOKED.value: "Refused: access is revoked",
}


def token_view(session: Session, integration: Integration) -> TokenView | None:
    """What a page shows of a SCIM integration (None for any other kind)."""
    if integration.kind != KIND:
        return None
    settings = integration.settings or {}
    made_at = None
    if settings.get("token_made_at"):
        try:
            made_at = datetime.fromisoformat(str(settings["token_made_at"]))
        except ValueError:
            made_at = None
    by_id = settings.get("token_made_by")
    by = session.get(AdminUser, by_id) if isinstance(by_id, int) else None
    return TokenView(base_url=base_url(), prefix=str(settings.get("token_prefix") or ""), made_at=made_at,
                     made_by=(by.name or by.email) if by is not None else "the command line",
                     rotated=bool(settings.get("token_rotated")), label=label_of(integration),
                     refused=None if integration.status == IntegrationStatus.LIVE.value
                     else REFUSED_WORDS.get(integration.status, "Refused: the integration is not live"))


def rotate_token(session: Session, integration: Integration, actor: AdminUser | None) -> str:
    """A new token for a SCIM integration; the old one stops at once."""
    if integration.kind != KIND:
        raise ServiceError("Only a SCIM integration has a SCIM token.", code="not_scim")
    if integration.status == IntegrationStatus.REVOKED.value:
        raise ServiceError("This integration was revoked: add a new SCIM integration instead.", code="revoked")
    if integration.status == IntegrationStatus.DRAFT.value:
        raise ServiceError("Publish this SCIM integration first: publishing makes its token.", code="draft")
    raw = _new_token(integration, actor)
    integration.settings = {**(integration.settings or {}), "token_rotated": True}
    activity.record(session, programme_id=integration.programme_id, integration_id=integration.id,
                    admin_id=actor.id if actor else None, action="rotated_scim_token",
                    detail={"prefix": raw[:12]})
    return raw


def authenticate(session: Session, raw: str | None) -> Integration | None:
    """The live SCIM integration whose token is ``raw``, or None (unknown, paused, revoked, deleted)."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    digest = _digest(raw)
    candidates = session.scalars(select(Integration).where(
        Integration.kind == KIND, Integration.status == IntegrationStatus.LIVE.value))
    for integration in candidates:
        stored = (integration.settings or {}).get("token_sha256")
        if isinstance(stored, str) and hmac.compare_digest(stored, digest):
            return integration
    return None


# -- reads ---------------------------------------------------------------------------------------

def _users(integration: Integration) -> Select[Member, ScimUser]:
    return (select(Member, ScimUser).join(ScimUser, ScimUser.member_id == Member.id)
            .where(ScimUser.integration_id == integration.id, ScimUser.deleted_at.is_(None),
                   Member.programme_id == integration.programme_id,
                   Member.status != MemberStatus.DELETED.value))


def _condition(criteria: Equals | Criteria) -> ColumnElement[bool]:
    if isinstance(criteria, Criteria):
        parts = [_condition(term) for term in criteria.terms]
        return and_(*parts) if criteria.op == "and" else or_(*parts)
    value = criteria.value
    if criteria.field == USER_NAME:
        return ScimUser.user_name_key == value.strip().lower()
    if criteria.field == EXTERNAL_ID:
        return ScimUser.external_id == value
    if criteria.field == EMAIL:
        return Member.email_lower == email_key(value)
    if criteria.field == EMPLOYEE_ID:
        return Member.employee_id == value
    if criteria.field == ID:
        return Member.id == int(value) if value.isdigit() else Member.id.is_(None)
    raise AssertionError(criteria.field)


def stored_user(member: Member, scim: ScimUser) -> StoredUser:
    return StoredUser(member.id, scim.user_name, scim.external_id, member.employee_id, member.email,
                      member.first_name, member.last_name, dict(member.attributes or {}), member.status,
                      member.created_at, member.updated_at)


def list_users(session: Session, integration: Integration, criteria: Equals | Criteria | None, *,
               start_index: int, count: int) -> tuple[int, Sequence[StoredUser]]:
    """(total matching, the page from ``start_index`` (1-based)), in a stable order (member id)."""
    query = _users(integration)
    if criteria is not None:
        query = query.where(_condition(criteria))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(Member.id).offset(start_index - 1).limit(count)).all() if count else []
    return int(total), [stored_user(member, scim) for member, scim in rows]


def find_user(session: Session, integration: Integration, user_id: str) -> tuple[Member, ScimUser] | None:
    """The SCIM door's member with this id, or None."""
    if not user_id.isdigit() or len(user_id) > 18:
        return None
    row = session.execute(_users(integration).where(Member.id == int(user_id))).first()
    return None if row is None else (row[0], row[1])


def display_name() -> str:
    """The SCIM kind's name as pages show it."""
    from hrsync.sources.registry import display_name as kind_name

    return kind_name(KIND)
