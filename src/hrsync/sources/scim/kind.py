"""The ``scim`` kind: an identity provider (Entra ID, Okta) pushes Users to ``/scim/v2`` (docs/scim.md).

A push door has no directory to read: ``open`` refuses (an import of a SCIM integration changes no
member), there are no settings to enter (its one secret, the SCIM token, is made by hrsync), and its
mapping reads SCIM attributes (:data:`hrsync.scim.resources.DEFAULT_MAPPING`).
"""

from __future__ import annotations

from typing import Any

from hrsync.sources.base import Source, SourceError

DISPLAY_NAME = "SCIM 2.0 (Entra ID, Okta)"


def open_source(integration: Any, options: Any) -> Source:
    raise SourceError("A SCIM integration is not imported: your identity provider sends its changes to "
                      "hrsync's SCIM address as they happen.", code="invalid_settings")


def address(integration: Any) -> str | None:
    from hrsync.services.scim import base_url

    return base_url()


def default_mapping(integration: Any) -> dict[str, str]:
    from hrsync.scim.resources import DEFAULT_MAPPING

    return dict(DEFAULT_MAPPING)


def not_ready(integration: Any) -> str | None:
    if (integration.source_settings or {}).get("token_sha256"):
        return None
    return "This SCIM integration has no token: rotate its token to make one."
