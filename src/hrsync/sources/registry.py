"""Every kind of source hrsync can import from, by the ``integration.kind`` stored for it.

The rest of hrsync names no HR system: it asks the registry for a kind's display name, how to open
its source for a stored integration and what to show as its tenant address. Adding a source is a
new folder under ``hrsync/sources/`` plus one entry here (see ``docs/architecture.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from hrsync.security.secrets import decrypt_secret
from hrsync.sources.base import Source, SourceError, status_table


class StoredIntegration(Protocol):
    """What the registry reads of a stored integration (``hrsync.store.models.Integration``)."""

    id: int
    kind: str
    subdomain: str | None
    api_key_encrypted: str | None
    status_map: dict[str, Any]
    source_settings: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class OpenOptions:
    time_budget: float | None = None  # seconds the whole read may take (None: no limit)
    concurrency: int = 4  # parallel requests, where the source makes any


@dataclass(frozen=True, slots=True)
class SourceKind:
    kind: str  # stored in integration.kind
    display_name: str  # "intelliHR", shown in pages, e-mails and the CLI
    open: Callable[[StoredIntegration, OpenOptions], Source]
    tenant_address: Callable[[StoredIntegration], str | None]  # where the data comes from, for people


def _open_intellihr(integration: StoredIntegration, options: OpenOptions) -> Source:
    from hrsync.sources.intellihr import IntelliHRSource

    if not integration.api_key_encrypted or not integration.subdomain:
        raise SourceError("This integration has no intelliHR access: re-authorize it with a new API key.",
                          code="bad_key")
    return IntelliHRSource(
        integration.subdomain,
        decrypt_secret(integration.api_key_encrypted),
        status_map=status_table(integration.status_map),
        time_budget=options.time_budget,
        concurrency=options.concurrency,
    )


def _intellihr_address(integration: StoredIntegration) -> str | None:
    from hrsync.sources.intellihr.subdomain import DOMAIN

    return None if not integration.subdomain else f"{integration.subdomain}.{DOMAIN}"


INTELLIHR = SourceKind("intellihr", "intelliHR", _open_intellihr, _intellihr_address)

REGISTRY: Mapping[str, SourceKind] = {k.kind: k for k in (INTELLIHR,)}


def kind_of(kind: str) -> SourceKind:
    try:
        return REGISTRY[kind]
    except KeyError:
        raise SourceError(f"hrsync has no source of kind '{kind}'.", code="invalid_settings") from None


def source_for(integration: StoredIntegration, *, time_budget: float | None = None, concurrency: int = 4) -> Source:
    """The source for a stored integration: the only place its stored secret is decrypted."""
    return kind_of(integration.kind).open(integration, OpenOptions(time_budget, concurrency))
