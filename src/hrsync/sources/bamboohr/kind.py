"""BambooHR as a kind of source: its settings (a company domain and an API key), its catalogue card, its
words, its failure rows and its capabilities (one-person look-up, field discovery)."""

from __future__ import annotations

from typing import Any

from hrsync.domain.failures import Failure, FailureKind
from hrsync.sources.bamboohr.catalogue import ID_KEY, ID_LABEL
from hrsync.sources.bamboohr.normalise import STATUSES
from hrsync.sources.base import CheckResult, Source, SourceError
from hrsync.sources.kind import (
    AccountAndKey,
    Catalogue,
    OpenOptions,
    SettingField,
    SourceKind,
    StoredIntegration,
    Words,
    stored_secret,
)

NAME = "BambooHR"
KEY_PLACE = "your name (top right) → API Keys"


def _open(integration: StoredIntegration, options: OpenOptions) -> Source:
    from hrsync.sources.bamboohr.source import BambooHRSource

    company = (integration.settings or {}).get("company_domain")
    key = stored_secret(integration)
    if not key or not company:
        raise SourceError("This integration has no BambooHR access: re-authorize it with a new API key.",
                          code="bad_key")
    return BambooHRSource(company, key, status_map=integration.status_map, time_budget=options.time_budget)


def _address(integration: StoredIntegration) -> str | None:
    """The company's BambooHR host (pages put ``https://`` before it)."""
    from hrsync.sources.bamboohr.domain import DOMAIN

    company = (integration.settings or {}).get("company_domain")
    return f"{company}.{DOMAIN}" if company else None


def _normalise(value: str) -> str:
    from hrsync.sources.bamboohr.domain import validate_company_domain

    return validate_company_domain(value)


def _preview(value: str) -> Any:
    from hrsync.sources.bamboohr.domain import preview

    return preview(value)


def _check(company: str, api_key: str) -> CheckResult:
    from hrsync.sources.bamboohr.source import BambooHRSource

    with BambooHRSource(company, api_key) as source:
        return source.check()


_SETTINGS = AccountAndKey("company_domain", NAME, _normalise, "invalid_company_domain", _check)


def _mapping(integration: StoredIntegration) -> dict[str, str]:
    return {"employee_id": "employeeNumber", "email": "workEmail", "first_name": "firstName",
            "last_name": "lastName"}


def _not_ready(integration: StoredIntegration) -> str | None:
    if integration.secret_encrypted:
        return None
    return "The integration has no BambooHR API key: connect (or re-connect) it first."


_CHECK_ADDRESS = (
    "Check the BambooHR company domain in the integration's Connect step (type it as you see it in your "
    "browser, for example acme or acme.bamboohr.com), then run Import data now."
)

KIND = SourceKind(
    "bamboohr", NAME, _open, _address,
    catalogue=Catalogue(
        logo="BHR", category="HR system",
        summary="Provision and de-provision members from your BambooHR employees, active and inactive, on a "
                "schedule or on demand.",
        keywords=("bamboo hr", "bamboo", "hris", "hr", "people", "directory", "employees"),
    ),
    words=Words(reading="Reading the BambooHR employees…", id_label=ID_LABEL, field_label="BambooHR field",
                directory="your BambooHR account", key_place=KEY_PLACE),
    settings_fields=(
        SettingField("company_domain", "BambooHR company domain",
                     "The address you reach BambooHR at: acme, acme.bamboohr.com or https://acme.bamboohr.com",
                     clean=_SETTINGS.clean, preview=_preview),
        SettingField("api_key", "API key",
                     f"Created in BambooHR under {KEY_PLACE} → Add New Key, by a user who may see every "
                     "employee.", secret=True),
    ),
    validate_settings=_SETTINGS.validate,
    check_settings=_SETTINGS.check_settings,
    connection_key=_SETTINGS.account,
    default_mapping=_mapping,
    not_ready=_not_ready,
    fallback_key=(ID_KEY, ID_LABEL),
    failures=(
        Failure("unknown_company", FailureKind.CONFIGURATION, _CHECK_ADDRESS),
        Failure("invalid_company_domain", FailureKind.CONFIGURATION, _CHECK_ADDRESS),
        Failure("not_bamboohr", FailureKind.CONFIGURATION,
                "The server named by HRSYNC_BAMBOOHR_BASE_URL did not answer like BambooHR: ask your operator "
                "to check it, then run Import data now."),
    ),
    capabilities=frozenset({"lookup", "discovery"}),
    statuses=STATUSES,
)
