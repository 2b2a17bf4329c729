"""intelliHR as a kind of source: its settings (an account address and an API key), its catalogue
card, its words, its failure rows and its capabilities (webhooks, one-person look-up, field discovery)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hrsync.domain.failures import Failure, FailureKind
from hrsync.security.secrets import decrypt_secret
from hrsync.sources.base import CheckResult, Source, SourceError, status_table
from hrsync.sources.kind import (
    Catalogue,
    OpenOptions,
    SettingField,
    SourceKind,
    StoredIntegration,
    WizardStep,
    Words,
    settings_error,
)

NAME = "intelliHR"
ID_KEY, ID_LABEL = "autoIncrementIntellihrId", "intelliHR ID"


def _open(integration: StoredIntegration, options: OpenOptions) -> Source:
    from hrsync.sources.intellihr.source import IntelliHRSource

    subdomain = (integration.settings or {}).get("subdomain")
    if not integration.secret_encrypted or not subdomain:
        raise SourceError("This integration has no intelliHR access: re-authorize it with a new API key.",
                          code="bad_key")
    return IntelliHRSource(
        subdomain,
        decrypt_secret(integration.secret_encrypted),
        status_map=status_table(integration.status_map),
        time_budget=options.time_budget,
        concurrency=options.concurrency,
    )


def _address(integration: StoredIntegration) -> str | None:
    from hrsync.sources.intellihr.subdomain import DOMAIN

    subdomain = (integration.settings or {}).get("subdomain")
    return None if not subdomain else f"{subdomain}.{DOMAIN}"


def _subdomain(value: str) -> str:
    from hrsync.sources.intellihr.subdomain import validate_subdomain

    try:
        return validate_subdomain(value)
    except ValueError as exc:
        raise SourceError(str(exc), code="invalid_subdomain") from None


def _preview(value: str) -> Any:
    from hrsync.sources.intellihr.subdomain import preview

    return preview(value)


def _validate(settings: Mapping[str, Any]) -> dict[str, Any]:
    subdomain = _subdomain(str(settings.get("subdomain") or ""))
    key = settings.get("api_key")
    if not isinstance(key, str) or not key.strip():
        raise SourceError("Enter the API key created in intelliHR.", code="bad_key")
    return {"subdomain": subdomain, "api_key": key.strip()}


def _check(settings: Mapping[str, Any]) -> CheckResult:
    """One cheap call to intelliHR; never raises for the expected failures."""
    from hrsync.sources.intellihr.source import IntelliHRSource

    try:
        clean = _validate(settings)
    except SourceError as exc:
        return settings_error(exc)
    with IntelliHRSource(clean["subdomain"], clean["api_key"]) as source:
        return source.check()


def _account(settings: Mapping[str, Any]) -> str | None:
    subdomain = settings.get("subdomain")
    return str(subdomain) if subdomain else None


def _mapping(integration: StoredIntegration) -> dict[str, str]:
    from hrsync.domain.fields import DEFAULT_MAPPING

    return dict(DEFAULT_MAPPING)


def _not_ready(integration: StoredIntegration) -> str | None:
    if integration.secret_encrypted:
        return None
    return "The integration has no intelliHR API key: authorize (or re-authorize) it first."


_CHECK_ADDRESS = (
    "Check the intelliHR account's address in the integration's Authorize step (type it as you see it in your "
    "browser, for example acme or acme.intellihr.net), then run Import data now."
)

KIND = SourceKind(
    "intellihr", NAME, _open, _address,
    catalogue=Catalogue(
        logo="iHR", category="HR system",
        summary="Provision and de-provision members from your intelliHR people directory, on a schedule "
                "or on demand.",
        keywords=("intelli hr", "hris", "hr", "people", "directory", "employees", "humanforce"),
    ),
    words=Words(reading="Reading the intelliHR directory…", id_label=ID_LABEL, field_label="intelliHR field",
                directory="your intelliHR directory",
                key_place="Settings → Public API Access Keys"),
    settings_fields=(
        SettingField("subdomain", "intelliHR account address",
                     "Your intelliHR address as you see it in the browser: acme or https://acme.intellihr.net",
                     clean=_subdomain, cli_aliases=("--subdomain",), preview=_preview),
        SettingField("api_key", "API key", "Created in intelliHR under Settings → Public API Access Keys.",
                     secret=True),
    ),
    validate_settings=_validate,
    check_settings=_check,
    connection_key=_account,
    default_mapping=_mapping,
    not_ready=_not_ready,
    fallback_key=(ID_KEY, ID_LABEL),
    failures=(
        Failure("unknown_tenant", FailureKind.CONFIGURATION, _CHECK_ADDRESS),
        Failure("invalid_subdomain", FailureKind.CONFIGURATION, _CHECK_ADDRESS),
        Failure("not_intellihr", FailureKind.CONFIGURATION, _CHECK_ADDRESS),
    ),
    wizard_step=WizardStep("authorize", "Authorize"),
    capabilities=frozenset({"webhooks", "lookup", "discovery"}),
)
