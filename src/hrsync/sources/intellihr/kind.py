"""intelliHR as a kind of source: its settings (an account address and an API key), its catalogue
card, its words, its failure rows and its capabilities (webhooks, one-person look-up, field discovery)."""

from __future__ import annotations

from typing import Any

from hrsync.domain.failures import Failure, FailureKind
from hrsync.security.secrets import decrypt_secret
from hrsync.sources.base import CheckResult, Source, SourceError, status_table
from hrsync.sources.kind import (
    AccountAndKey,
    Catalogue,
    OpenOptions,
    SettingField,
    SourceKind,
    StoredIntegration,
    WizardStep,
    Words,
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


def _normalise(value: str) -> str:
    from hrsync.sources.intellihr.subdomain import validate_subdomain

    return validate_subdomain(value)


def _preview(value: str) -> Any:
    from hrsync.sources.intellihr.subdomain import preview

    return preview(value)


def _check(subdomain: str, api_key: str) -> CheckResult:
    from hrsync.sources.intellihr.source import IntelliHRSource

    with IntelliHRSource(subdomain, api_key) as source:
        return source.check()


_SETTINGS = AccountAndKey("subdomain", NAME, _normalise, "invalid_subdomain", _check)


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
                     clean=_SETTINGS.clean, cli_aliases=("--subdomain",), preview=_preview),
        SettingField("api_key", "API key", "Created in intelliHR under Settings → Public API Access Keys.",
                     secret=True),
    ),
    validate_settings=_SETTINGS.validate,
    check_settings=_SETTINGS.check_settings,
    connection_key=_SETTINGS.account,
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
