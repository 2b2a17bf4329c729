"""The list of kinds of source hrsync can import from, and the look-ups on it.

Each kind is one :class:`~hrsync.sources.kind.SourceKind` in its own folder (``KIND`` in
``hrsync/sources/<kind>/kind.py``). The built-in kinds are listed here; others join through the
``hrsync.sources`` entry-point group of an installed package, or :func:`register` (tests). The rest
of hrsync asks this module for a kind by ``integration.kind`` and never names one.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from hrsync.domain.failures import add_failures
from hrsync.sources.bamboohr.kind import KIND as BAMBOOHR
from hrsync.sources.base import Source, SourceError
from hrsync.sources.intellihr.kind import KIND as INTELLIHR
from hrsync.sources.kind import OpenOptions, SourceKind, StoredIntegration
from hrsync.sources.membership_file.kind import KIND as MEMBERSHIP_FILE
from hrsync.sources.scim.kind import KIND as SCIM

ENTRY_POINT_GROUP = "hrsync.sources"

#: Every kind, by ``integration.kind``, in catalogue order.
REGISTRY: dict[str, SourceKind] = {}
#: The kind a new integration has when none is named (``hrsync integration add`` without --source).
DEFAULT_KIND = INTELLIHR.kind


def register(kind: SourceKind) -> SourceKind:
    """Add a kind (replacing one of the same name) and its failure rows."""
    REGISTRY[kind.kind] = kind
    add_failures(kind.failures)
    return kind


def unregister(kind: str) -> None:
    """Remove a kind added by :func:`register` (a test's throwaway kind)."""
    REGISTRY.pop(kind, None)


def _installed() -> list[SourceKind]:
    """Kinds that installed packages declare in the ``hrsync.sources`` entry-point group."""
    found = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        kind = point.load()
        if not isinstance(kind, SourceKind):
            raise TypeError(f"entry point {point.name!r} of {ENTRY_POINT_GROUP} is not a SourceKind")
        found.append(kind)
    return found


for _kind in (INTELLIHR, BAMBOOHR, MEMBERSHIP_FILE, SCIM, *_installed()):
    register(_kind)


def kinds() -> list[SourceKind]:
    return list(REGISTRY.values())


def kind_of(kind: str) -> SourceKind:
    try:
        return REGISTRY[kind]
    except KeyError:
        raise SourceError(f"hrsync has no source of kind '{kind}'.", code="invalid_settings") from None


def file_kinds() -> frozenset[str]:
    """The kinds that read files an administrator uploads."""
    return frozenset(k.kind for k in REGISTRY.values() if k.takes_files)


def display_name(kind: str) -> str:
    """The kind's name for people, or the stored kind itself when hrsync no longer has it."""
    known = REGISTRY.get(kind)
    return known.display_name if known is not None else kind


def account_of(integration: StoredIntegration) -> str | None:
    """The external account the integration reads ("acme"), as its kind names it; None when none."""
    kind = REGISTRY.get(integration.kind)
    return kind.connection_key(kind.stored_settings(integration)) if kind is not None else None


def integration_label(integration: StoredIntegration) -> str:
    """The integration as people tell it from the programme's others: "intelliHR (acme)", or the
    source's name alone when its kind has no account (never a folder or an id)."""
    account = account_of(integration)
    name = display_name(integration.kind)
    return f"{name} ({account})" if account else name


def has_access(integration: StoredIntegration) -> bool:
    """Whether the integration can reach its source now: not revoked, and its kind's own
    readiness (a key stored, a membership file's folder usable)."""
    if integration.status == "revoked":
        return False
    kind = REGISTRY.get(integration.kind)
    return kind is not None and kind.not_ready(integration) is None


def source_for(
    integration: StoredIntegration,
    *,
    time_budget: float | None = None,
    concurrency: int = 4,
    consume: bool | None = None,
) -> Source:
    """The source for a stored integration: the only place its stored secret is decrypted.

    ``consume``: whether the read is an import that consumes what it reads (see :class:`OpenOptions`).
    """
    return kind_of(integration.kind).open(integration, OpenOptions(time_budget, concurrency, consume))


__all__ = [
    "DEFAULT_KIND", "ENTRY_POINT_GROUP", "REGISTRY", "OpenOptions", "SourceKind", "StoredIntegration",
    "display_name", "file_kinds", "has_access", "kind_of", "kinds", "register", "source_for", "unregister",
]
