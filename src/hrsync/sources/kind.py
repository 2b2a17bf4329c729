"""The contract between hrsync and a kind of source: one :class:`SourceKind` object per kind.

A kind lives in its own folder (``hrsync/sources/<kind>/kind.py`` defines ``KIND``) and declares
everything the rest of hrsync may ask of it without naming it: its settings (which the wizard's
settings step and ``hrsync integration add --setting NAME=VALUE`` are built from), its catalogue
entry, the external account it connects to (one integration per account in a programme), its
failure rows, its words (what its reading phase is called, what an ID is called in exports), its
default mapping and key suggestion, and its optional capabilities (webhooks, one-person look-up,
field discovery). :mod:`hrsync.sources.registry` lists the kinds; adding one is described in
``docs/architecture.md`` ("Adding a source").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from hrsync.domain.failures import Failure
from hrsync.sources.base import CheckResult, Lifecycle, Source, SourceError, status_table


class StoredIntegration(Protocol):
    """What a kind reads of a stored integration (``hrsync.store.models.Integration``)."""

    id: int
    kind: str
    status: str
    settings: dict[str, Any] | None  # the kind's settings that are not secret
    secret_encrypted: str | None  # its one secret setting, encrypted
    secret_last4: str | None
    mapping: dict[str, Any]
    status_map: dict[str, Any]
    date_format: str


@dataclass(frozen=True, slots=True)
class OpenOptions:
    time_budget: float | None = None  # seconds the whole read may take (None: no limit)
    concurrency: int = 4  # parallel requests, where the source makes any
    #: The read is an import that consumes what it reads (a membership file is moved afterwards).
    #: None: the source finds out from the integration's running run (dry runs consume nothing).
    consume: bool | None = None


@dataclass(frozen=True, slots=True)
class Guide:
    """How to find or create a setting's value in the source, shown beside its input (an API key's steps).

    Each step is a tuple of text parts; the parts at odd positions are what the person sees on the
    source's own screens (a menu, a button) and are shown in bold: ``("Go to ", "Settings", ".")``.
    """

    title: str  # "How to generate the API key"
    steps: tuple[tuple[str, ...], ...]
    note: str = ""  # one closing sentence (what the value gives access to, how it is kept)


@dataclass(frozen=True, slots=True)
class SettingField:
    """One thing the setup (wizard, CLI) asks for this kind; ``name`` is its key in the settings dict."""

    name: str
    label: str
    help: str = ""
    secret: bool = False  # never shown again once stored (an API key); at most one per kind
    required: bool = True
    #: Normalises one value on its own (raising SourceError), so a setup can refuse it at once,
    #: before it asks for the others (the CLI checks the address before reading a key).
    clean: Callable[[str], str] | None = None
    #: Older CLI options that set this field (``--subdomain``), kept working.
    cli_aliases: tuple[str, ...] = ()
    #: What a page shows live as the value is typed (an account's address), never raising; the
    #: result has ``ok``, ``url``, ``reason`` and the normalised value's own attribute.
    preview: Callable[[str], Any] | None = None
    placeholder: str = ""  # an example value, shown in the empty input
    guide: Guide | None = None  # how to get the value in the source (the Authorize step shows it)

    def cleaned(self, value: str) -> str:
        return self.clean(value) if self.clean is not None else value


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The kind's card on the Integrations page."""

    logo: str  # two or three letters on the card
    category: str  # "HR system", "File upload or SFTP"
    summary: str
    keywords: tuple[str, ...] = ()  # search words besides the name


@dataclass(frozen=True, slots=True)
class Words:
    """How pages, e-mails and exports speak of this kind's data."""

    reading: str  # the run's reading phase: "Reading the membership file…"
    id_label: str  # a person's own id in this source, as an export's column: "Membership file ID"
    field_label: str  # what a mapping picks from: "Column in your file"
    directory: str  # where people are read from, in a sentence: "your membership file"
    key_place: str = ""  # where the secret is managed in the source, for "delete it there too"


#: Where a kind's webhook deliveries are posted (:mod:`hrsync.web.hooks`); the token is the only credential.
HOOK_ROUTE = "/hooks/{kind}/{token}"


class WebhookError(Exception):
    """A subscription call the source refused or could not answer (the message names no secret)."""


class Subscriptions(Protocol):
    """A source's webhook subscriptions for one integration, opened with its stored secret."""

    def __enter__(self) -> Subscriptions: ...

    def __exit__(self, *exc: object) -> None: ...

    def subscribe(self, url: str, event: str) -> str:
        """Subscribe ``url`` to ``event``; the subscription's id. Raises :class:`WebhookError`."""
        ...

    def unsubscribe_all(self, idents: Iterable[str]) -> list[str]:
        """Remove each subscription (one already gone is fine); the errors, the others still tried."""
        ...


def _never_local() -> bool:
    return False


@dataclass(frozen=True, slots=True)
class WebhookCapability:
    """A kind whose source calls hrsync when people change (:mod:`hrsync.services.webhooks` uses it).

    Deliveries arrive at :data:`HOOK_ROUTE` (``/hooks/<kind>/<token>``); a
    delivery is only a hint: ``hint`` reads which record it names (``person:<id>`` or another subject
    the kind understands), and the worker re-fetches that person with the stored secret, turning a
    subject that is not a person into one with ``person_of``.
    """

    events: tuple[str, ...]  # one subscription per event
    #: The integration's subscriptions, opened with its stored secret (raises SourceError without access).
    subscriptions: Callable[[StoredIntegration], Subscriptions]
    #: A delivery's parsed body → (subject, event); None when it names nobody to re-fetch. Never raises.
    hint: Callable[[Any], tuple[str, str] | None]
    #: A hint's subject → the record id of the person to re-fetch; None when the subject is gone.
    #: Raises SourceError when the source cannot answer now (the hint is tried again later).
    person_of: Callable[[StoredIntegration, str], str | None]
    #: The source runs on this machine (a simulator next to the demo portal), so it can call back
    #: even when the portal's own address is private: ``HRSYNC_WEBHOOKS=auto`` turns webhooks on.
    source_is_local: Callable[[], bool] = _never_local


@dataclass(frozen=True, slots=True)
class WizardStep:
    """The wizard step after Initial setup, where the kind's settings are entered."""

    key: str  # "settings" (the page built from settings_fields), "authorize", "file"
    label: str


SETTINGS_STEP = WizardStep("settings", "Connect")


def _no_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    return dict(settings)


def _always_ok(settings: Mapping[str, Any]) -> CheckResult:
    return CheckResult(ok=True)


def _stored_settings(integration: StoredIntegration) -> dict[str, Any]:
    return dict(integration.settings or {})


def _no_mapping(integration: StoredIntegration) -> dict[str, str]:
    return {}


def _always_ready(integration: StoredIntegration) -> str | None:
    return None


def _no_account(settings: Mapping[str, Any]) -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class SourceKind:
    """A kind of source and everything the rest of hrsync may ask of it without naming it.

    Settings travel as one dict whose keys are the ``settings_fields`` names: ``validate_settings``
    returns the clean dict to keep or raises :class:`SourceError` (its ``reason`` is for people);
    ``check_settings`` verifies them with the source itself (never raises for expected failures);
    ``apply_settings`` stores clean settings on an integration (encrypting what is secret) and
    ``stored_settings`` reads back the ones that are not secret.
    """

    kind: str  # stored in integration.kind
    display_name: str  # shown in pages, e-mails and the CLI
    open: Callable[[StoredIntegration, OpenOptions], Source]
    tenant_address: Callable[[StoredIntegration], str | None]  # where the data comes from, for people
    catalogue: Catalogue
    words: Words
    settings_fields: tuple[SettingField, ...] = ()
    validate_settings: Callable[[Mapping[str, Any]], dict[str, Any]] = _no_settings
    check_settings: Callable[[Mapping[str, Any]], CheckResult] = _always_ok
    #: Stores clean settings on an integration; None: the generic way (:meth:`apply`).
    apply_settings: Callable[[StoredIntegration, Mapping[str, Any]], None] | None = None
    stored_settings: Callable[[StoredIntegration], dict[str, Any]] = _stored_settings
    #: The external account clean settings connect to (an HR system's tenant), or None when
    #: the kind has no such thing: a programme holds one integration with access per account.
    connection_key: Callable[[Mapping[str, Any]], str | None] = _no_account
    #: The mapping a new integration starts from (before the administrator's own choices).
    default_mapping: Callable[[StoredIntegration], dict[str, str]] = _no_mapping
    #: Why an integration cannot import (publish, resume) right now, or None.
    not_ready: Callable[[StoredIntegration], str | None] = _always_ready
    #: A field every person has, offered as the unique key when the mapped one is blank: (key, label).
    fallback_key: tuple[str, str] | None = None
    #: Failure codes only this kind raises, with their advice (see :mod:`hrsync.domain.failures`).
    failures: tuple[Failure, ...] = ()
    wizard_step: WizardStep = SETTINGS_STEP
    #: The kind reads files an administrator uploads (the File step, the dashboard's upload).
    takes_files: bool = False
    #: Optional capabilities: "lookup" (its source can find one person,
    #: :class:`hrsync.sources.base.PersonLookup`), "discovery" (its source lists fields beyond a fixed set).
    capabilities: frozenset[str] = field(default_factory=frozenset)
    #: Webhooks, when the source can tell hrsync about changes as they happen (``can("webhooks")``).
    webhooks: WebhookCapability | None = None
    #: The employment statuses this kind's people come with and what each means by default (the status
    #: table the mapping step shows and a new integration starts from); None: the HR statuses of
    #: :data:`hrsync.sources.base.DEFAULT_STATUS_MAP`.
    statuses: Mapping[str, Lifecycle] | None = None
    #: Where the data comes from in plain words, for a card an administrator reads ("SFTP drop folder"),
    #: when ``tenant_address`` is a server path; None: the tenant address is shown.
    place: Callable[[StoredIntegration], str | None] | None = None

    def can(self, capability: str) -> bool:
        if capability == "webhooks":
            return self.webhooks is not None
        return capability in self.capabilities

    def status_table(self, overrides: Mapping[str, str] | None = None) -> dict[str, Lifecycle]:
        """An integration's status table: this kind's statuses, overridden where the integration says so."""
        return status_table(overrides, self.statuses)

    def secret_field(self) -> SettingField | None:
        return next((f for f in self.settings_fields if f.secret), None)

    def apply(self, integration: StoredIntegration, clean: Mapping[str, Any]) -> None:
        """Store clean settings: the kind's own way, or the generic one (the secret setting encrypted
        with :mod:`hrsync.security.secrets`, only its last four characters kept in clear; the
        others as the integration's settings)."""
        if self.apply_settings is not None:
            self.apply_settings(integration, clean)
            return
        from hrsync.security.secrets import encrypt_secret, last4

        secret = self.secret_field()
        if secret is not None and clean.get(secret.name):
            value = str(clean[secret.name])
            integration.secret_encrypted = encrypt_secret(value)
            integration.secret_last4 = last4(value)
        integration.settings = {k: v for k, v in clean.items() if secret is None or k != secret.name}


def stored_secret(integration: StoredIntegration) -> str | None:
    """The integration's secret setting, decrypted (for a kind's ``open`` only: never shown or logged)."""
    from hrsync.security.secrets import decrypt_secret

    return decrypt_secret(integration.secret_encrypted) if integration.secret_encrypted else None


def settings_error(exc: SourceError) -> CheckResult:
    """A refused setting as the failed check a setup shows."""
    return CheckResult(ok=False, reason=exc.reason, code=exc.code)


@dataclass(frozen=True, slots=True)
class AccountAndKey:
    """The settings of a kind read with an account's address and an API key (most HR systems): the
    address setting ``field`` (normalised by ``normalise``, which raises ``ValueError`` saying what to type;
    refused as ``invalid_code``) and ``api_key``, the secret. Its methods are the kind's
    ``SettingField.clean``, ``validate_settings``, ``check_settings`` and ``connection_key``; ``check``
    makes the one cheap call with a clean (address, key)."""

    field: str
    service: str
    normalise: Callable[[str], str]
    invalid_code: str
    check: Callable[[str, str], CheckResult]

    def clean(self, value: str) -> str:
        try:
            return self.normalise(value)
        except ValueError as exc:
            raise SourceError(str(exc), code=self.invalid_code) from None

    def validate(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        address = self.clean(str(settings.get(self.field) or ""))
        key = settings.get("api_key")
        if not isinstance(key, str) or not key.strip():
            raise SourceError(f"Enter the API key created in {self.service}.", code="bad_key")
        return {self.field: address, "api_key": key.strip()}

    def check_settings(self, settings: Mapping[str, Any]) -> CheckResult:
        """One cheap call to the service; never raises for the expected failures."""
        try:
            clean = self.validate(settings)
        except SourceError as exc:
            return settings_error(exc)
        return self.check(clean[self.field], clean["api_key"])

    def account(self, settings: Mapping[str, Any]) -> str | None:
        value = settings.get(self.field)
        return str(value) if value else None
