"""Every kind of source hrsync can import from, by the ``integration.kind`` stored for it.

The rest of hrsync names no HR system: it asks the registry for a kind's display name, how to open
its source for a stored integration and what to show as its tenant address. Adding a source is a
new folder under ``hrsync/sources/`` plus one entry here (see ``docs/architecture.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from hrsync.security.secrets import decrypt_secret, encrypt_secret, last4
from hrsync.sources.base import CheckResult, Source, SourceError, status_table


class StoredIntegration(Protocol):
    """What the registry reads of a stored integration (``hrsync.store.models.Integration``)."""

    id: int
    kind: str
    status: str
    subdomain: str | None
    api_key_encrypted: str | None
    api_key_last4: str | None
    mapping: dict[str, Any]
    status_map: dict[str, Any]
    date_format: str
    source_settings: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class OpenOptions:
    time_budget: float | None = None  # seconds the whole read may take (None: no limit)
    concurrency: int = 4  # parallel requests, where the source makes any
    #: The read is an import that consumes what it reads (a membership file is moved afterwards).
    #: None: the source finds out from the integration's running run (dry runs consume nothing).
    consume: bool | None = None


@dataclass(frozen=True, slots=True)
class SettingField:
    """One thing the setup (wizard, CLI) asks for this kind; ``name`` is its key in the settings dict."""

    name: str
    label: str
    help: str = ""
    secret: bool = False  # never shown again once stored (an API key)
    required: bool = True
    #: Normalises one value on its own (raising SourceError), so a setup can refuse it at once,
    #: before it asks for the others (the CLI checks the address before reading a key).
    clean: Callable[[str], str] | None = None

    def cleaned(self, value: str) -> str:
        return self.clean(value) if self.clean is not None else value


def _no_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    return dict(settings)


def _always_ok(settings: Mapping[str, Any]) -> CheckResult:
    return CheckResult(ok=True)


def _store_as_source_settings(integration: StoredIntegration, clean: Mapping[str, Any]) -> None:
    integration.source_settings = dict(clean)


def _no_mapping(integration: StoredIntegration) -> dict[str, str]:
    return {}


def _always_ready(integration: StoredIntegration) -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class SourceKind:
    """A kind of source and everything the rest of hrsync may ask of it without naming it.

    Settings travel as one dict whose keys are the ``settings_fields`` names: ``validate_settings``
    returns the clean dict to keep or raises :class:`SourceError` (its ``reason`` is for people);
    ``check_settings`` verifies them with the source itself (never raises for expected failures);
    ``apply_settings`` stores clean settings on an integration (encrypting what is secret).
    """

    kind: str  # stored in integration.kind
    display_name: str  # "intelliHR", shown in pages, e-mails and the CLI
    open: Callable[[StoredIntegration, OpenOptions], Source]
    tenant_address: Callable[[StoredIntegration], str | None]  # where the data comes from, for people
    settings_fields: tuple[SettingField, ...] = ()
    validate_settings: Callable[[Mapping[str, Any]], dict[str, Any]] = _no_settings
    check_settings: Callable[[Mapping[str, Any]], CheckResult] = _always_ok
    apply_settings: Callable[[StoredIntegration, Mapping[str, Any]], None] = _store_as_source_settings
    #: The mapping a new integration starts from (before the administrator's own choices).
    default_mapping: Callable[[StoredIntegration], dict[str, str]] = _no_mapping
    #: Why an integration cannot import (publish, resume) right now, or None.
    not_ready: Callable[[StoredIntegration], str | None] = _always_ready
    #: A field every person has, offered as the unique key when the mapped one is blank: (key, label).
    fallback_key: tuple[str, str] | None = None


# -- intelliHR -----------------------------------------------------------------------------------

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


def _intellihr_subdomain(value: str) -> str:
    from hrsync.sources.intellihr import validate_subdomain

    try:
        return validate_subdomain(value)
    except ValueError as exc:
        raise SourceError(str(exc), code="invalid_subdomain") from None


def _intellihr_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    subdomain = _intellihr_subdomain(str(settings.get("subdomain") or ""))
    key = settings.get("api_key")
    if not isinstance(key, str) or not key.strip():
        raise SourceError("Enter the API key created in intelliHR.", code="bad_key")
    clean = {"subdomain": subdomain, "api_key": key.strip()}
    if settings.get("base_url"):
        clean["base_url"] = str(settings["base_url"])
    return clean


def _intellihr_check(settings: Mapping[str, Any]) -> CheckResult:
    """One cheap call to intelliHR; never raises for the expected failures."""
    from hrsync.sources.intellihr import IntelliHRSource

    try:
        clean = _intellihr_settings(settings)
    except SourceError as exc:
        return CheckResult(ok=False, reason=exc.reason, code=exc.code)
    with IntelliHRSource(clean["subdomain"], clean["api_key"], base_url=clean.get("base_url")) as source:
        return source.check()


def _intellihr_apply(integration: StoredIntegration, clean: Mapping[str, Any]) -> None:
    integration.subdomain = clean["subdomain"]
    integration.api_key_encrypted = encrypt_secret(clean["api_key"])
    integration.api_key_last4 = last4(clean["api_key"])


def _intellihr_mapping(integration: StoredIntegration) -> dict[str, str]:
    from hrsync.domain.fields import DEFAULT_MAPPING

    return dict(DEFAULT_MAPPING)


def _intellihr_not_ready(integration: StoredIntegration) -> str | None:
    if integration.api_key_encrypted:
        return None
    return "The integration has no intelliHR API key: authorize (or re-authorize) it first."


INTELLIHR = SourceKind(
    "intellihr", "intelliHR", _open_intellihr, _intellihr_address,
    settings_fields=(
        SettingField("subdomain", "intelliHR account address",
                     "Your intelliHR address as you see it in the browser: acme or https://acme.intellihr.net",
                     clean=_intellihr_subdomain),
        SettingField("api_key", "API key", "Created in intelliHR under Settings → Public API Access Keys.",
                     secret=True),
    ),
    validate_settings=_intellihr_settings,
    check_settings=_intellihr_check,
    apply_settings=_intellihr_apply,
    default_mapping=_intellihr_mapping,
    not_ready=_intellihr_not_ready,
    fallback_key=("autoIncrementIntellihrId", "intelliHR ID"),
)


# -- membership file -----------------------------------------------------------------------------

def _open_file(integration: StoredIntegration, options: OpenOptions) -> Source:
    from hrsync.sources.membership_file.kind import file_source, running_import_consumes

    consume = options.consume if options.consume is not None else running_import_consumes(integration)
    return file_source(integration, consume=consume)


def _file_call(name: str) -> Callable[..., Any]:
    """A function of :mod:`hrsync.sources.membership_file.kind`, imported when first called."""
    def call(*args: Any) -> Any:
        from hrsync.sources.membership_file import kind

        return getattr(kind, name)(*args)

    call.__name__ = name
    return call


MEMBERSHIP_FILE = SourceKind(
    "membership_file", "Membership file (CSV / SFTP)", _open_file, _file_call("address"),
    settings_fields=(
        SettingField("path", "Drop folder",
                     "The absolute folder your SFTP server writes membership files into; leave it empty to "
                     "upload files in the portal only.", required=False),
    ),
    validate_settings=_file_call("validate_settings"),
    check_settings=_file_call("check_settings"),
    default_mapping=_file_call("suggested_mapping"),
    not_ready=_file_call("not_ready"),
)

# -- SCIM (a push door: identity providers write to /scim/v2) ---------------------------------------

def _scim_call(name: str) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        from hrsync.sources.scim import kind

        return getattr(kind, name)(*args)

    call.__name__ = name
    return call


SCIM = SourceKind(
    "scim", "SCIM 2.0 (Entra ID, Okta)", _scim_call("open_source"), _scim_call("address"),
    default_mapping=_scim_call("default_mapping"), not_ready=_scim_call("not_ready"),
)

DEFAULT_KIND = INTELLIHR.kind
REGISTRY: Mapping[str, SourceKind] = {k.kind: k for k in (INTELLIHR, MEMBERSHIP_FILE, SCIM)}


def kind_of(kind: str) -> SourceKind:
    try:
        return REGISTRY[kind]
    except KeyError:
        raise SourceError(f"hrsync has no source of kind '{kind}'.", code="invalid_settings") from None


def has_access(integration: StoredIntegration) -> bool:
    """Whether the integration can reach its source now: not revoked, and its kind's own
    readiness (an intelliHR key stored, a membership file's folder usable)."""
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
