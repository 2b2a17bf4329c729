"""What the SCIM door keeps of a member besides the member itself (docs/scim.md).

A SCIM client (Entra ID, Okta) knows a user by its ``userName`` and its own ``externalId``; neither
is a member field, and both are what the client filters on before it creates or changes anyone. One
row per member the SCIM door created, in the door's integration.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hrsync.store.models.base import Base
from hrsync.store.types import BigId


class ScimUser(Base):
    """A SCIM client's names for one member: ``userName`` (unique per integration, ignoring case) and
    ``externalId``."""

    __tablename__ = "scim_user"
    __table_args__ = (
        UniqueConstraint("integration_id", "user_name_key"),
        Index("ix_scim_user_integration_id_external_id", "integration_id", "external_id"),
    )

    member_id: Mapped[int] = mapped_column(BigId, ForeignKey("member.id", ondelete="CASCADE"), primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id", ondelete="CASCADE"))
    user_name: Mapped[str] = mapped_column(String(320))
    user_name_key: Mapped[str] = mapped_column(String(320))  # lower-cased: userName is caseExact=false
    external_id: Mapped[str | None] = mapped_column(String(255))
    # DELETE /Users/{id}: the member became a leaver and the User is gone for the client (404 from then
    # on, RFC 7644 §3.6); a POST of the same person within the 60 days brings it back.
    deleted_at: Mapped[datetime | None] = mapped_column()
