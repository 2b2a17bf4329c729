"""The ``scim`` kind: an identity provider (Entra ID, Okta) pushes Users to ``/scim/v2`` (docs/scim.md).

A push door has no directory to read: ``open`` gives its SCIM attributes as fields (the mapping
step's choices) and refuses to read people (an import of a SCIM integration changes no member).
There are no settings to type (its one secret, the SCIM token, is made by hrsync and only its
SHA-256 kept in the integration's settings), and its mapping reads SCIM attributes
(:data:`hrsync.scim.resources.DEFAULT_MAPPING`). Its capability is ``push``: it is set up by
``hrsync integration add --source scim`` or the portal's own short set-up
(:mod:`hrsync.web.scim_setup`), whose first step is the kind's wizard step, not the import wizard's.
"""

from __future__ import annotations

from typing import Any

from hrsync.sources.base import Source
from hrsync.sources.kind import Catalogue, SourceKind, WizardStep, Words
from hrsync.sources.scim.attributes import ScimAttributes

PUSH = "push"  # the capability: changes arrive through hrsync's own endpoint, nothing is read


def open_source(integration: Any, options: Any) -> Source:
    """Its SCIM attributes as fields, for the mapping step; reading people refuses (nothing to import)."""
    return ScimAttributes()


def address(integration: Any) -> str | None:
    from hrsync.services.scim import base_url

    return base_url()


def default_mapping(integration: Any) -> dict[str, str]:
    from hrsync.scim.resources import DEFAULT_MAPPING

    return dict(DEFAULT_MAPPING)


def not_ready(integration: Any) -> str | None:
    if (integration.settings or {}).get("token_sha256"):
        return None
    return "This SCIM integration has no token: rotate its token to make one."


KIND = SourceKind(
    "scim", "SCIM 2.0 (Entra ID, Okta)", open_source, address,
    catalogue=Catalogue(
        logo="ID", category="Identity provider (SCIM)",
        summary="Microsoft Entra ID, Okta or any SCIM 2.0 client provisions members directly: people are "
                "added, changed and deactivated as they change there.",
        keywords=("scim", "entra", "azure ad", "okta", "identity provider", "provisioning", "sso"),
    ),
    words=Words(reading="Waiting for the identity provider…", id_label="SCIM externalId",
                field_label="SCIM attribute", directory="your identity provider"),
    default_mapping=default_mapping,
    not_ready=not_ready,
    wizard_step=WizardStep("scim", "Set up"),
    capabilities=frozenset({PUSH}),
)
