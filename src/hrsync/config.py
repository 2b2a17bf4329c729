"""Operator settings, read from the environment (prefix ``HRSYNC_``).

Everything an operator can set lives here and nowhere else, so the README's configuration table
can be checked against one class. Administrators never reach these values: for example the
intelliHR base URL is an operator setting so that nobody can point a tenant's key at another host.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

INTELLIHR_PRODUCTION_BASE_URL = "https://api.intellihr.io/v1"


class Settings(BaseSettings):
    # hide_input_in_errors: a refused value (an SMTP URL with a password, a malformed key) is never
    # repeated in the error message.
    model_config = SettingsConfigDict(env_prefix="HRSYNC_", extra="ignore", hide_input_in_errors=True)

    data_dir: Path = Field(default=Path("var"), description="Where the SQLite file, the key file and exports live.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; unset means SQLite at <data_dir>/hrsync.db."
    )
    secret_key: str | None = Field(
        default=None,
        description="Fernet key(s), comma-separated, newest first; unset means <data_dir>/secret.key.",
    )
    intellihr_base_url: str = Field(default=INTELLIHR_PRODUCTION_BASE_URL)
    import_time_budget: float = Field(
        default=120.0, description="Seconds one import may spend waiting on retries of the HR API."
    )
    import_read_deadline: float = Field(
        default=3 * 60 * 60,
        gt=0,
        description="Seconds one import may spend reading the HR API in all; past it the run fails and frees "
        "the integration. Three hours: far beyond a 100,000-person read on a slow API (minutes), short "
        "enough that a stuck import frees its slot the same day.",
    )
    smtp_url: str | None = None
    smtp_allow_plaintext_auth: bool = Field(
        default=False,
        description="Accept credentials in HRSYNC_SMTP_URL without TLS (plain smtp://); refused otherwise.",
    )
    mail_from: str = "hrsync <no-reply@hrsync.localhost>"
    broker_url: str | None = None
    celery_queue: str = Field(default="hrsync", description="Celery queue the import tasks travel on.")
    worker_max_memory_mb: int = Field(
        default=250,
        ge=0,
        description="A worker pool process left resident above this many MB by an import is replaced by a fresh "
        "one after it (prefork pool); a threads or solo worker left above it makes a warm shutdown for its "
        "service manager to restart it; 0: never.",
    )
    large_import_people: int = Field(
        default=20_000,
        ge=0,
        description="An integration whose last import read at least this many people sends its imports to the "
        "large-import queue (<queue>.large), so that workers started with --queues small never wait behind one; "
        "0 sends every import to the one queue.",
    )
    large_import_give_way: float = Field(
        default=600.0,
        ge=0,
        description="Seconds a large import run by a worker started with --queues large may pause, in all, at "
        "its page boundaries and before its apply while small imports are busy: queued, due and not yet queued, "
        "or running (a rush of them goes first); 0: it never pauses.",
    )
    base_url: str = "http://127.0.0.1:8000"
    webhooks: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="intelliHR webhooks between scheduled imports: 'auto' turns them on when HRSYNC_BASE_URL is "
        "not a loopback or private address (intelliHR can reach it), or when the intelliHR base URL is itself "
        "loopback (the demo's simulator); 'on' always; 'off' never.",
    )
    webhook_delay_seconds: float = Field(
        default=3.0, ge=0, le=300,
        description="Seconds a webhook delivery waits before its person is re-fetched; deliveries for the same "
        "person meanwhile are coalesced into that one re-fetch.",
    )
    webhook_runs_per_hour: int = Field(
        default=60, ge=1, le=10_000,
        description="One-person runs webhook deliveries may make per integration in an hour; past it the "
        "deliveries are covered by one full import instead (at most one an hour), so a flood of deliveries "
        "(or forged ones from a leaked URL) cannot fill the history.",
    )
    trusted_proxies: str = Field(
        default="127.0.0.1,::1",
        description="Comma-separated addresses or networks (CIDR) of the reverse proxies / load balancers "
        "whose X-Forwarded-For and X-Forwarded-Proto headers are believed; '*' trusts every peer (only when "
        "nothing but the balancer can reach the portal).",
    )
    file_max_bytes: int = Field(
        default=50 * 1024 * 1024, gt=0,
        description="Largest membership file (CSV) an import or an upload accepts, in bytes; checked before reading.",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, gt=0,
        description="Largest request body the portal and the API accept, in bytes (413 above it, before the "
        "body is read); the membership-file upload routes allow HRSYNC_FILE_MAX_BYTES plus 64 KiB instead.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token /metrics requires; unset means /metrics answers loopback clients only "
        "(404 to others).",
    )
    file_drop_root: Path | None = Field(
        default=None,
        description="Where membership-file integrations without their own folder keep their files "
        "(<root>/<integration id>/); unset means <data_dir>/drop.",
    )
    file_settle_seconds: float = Field(
        default=60.0, ge=0,
        description="A dropped file modified more recently than this is still being written and is not imported yet.",
    )
    quarantine_after: int = Field(
        default=3, ge=1,
        description="An integration whose imports failed this many times in a row for a reason an administrator "
        "must fix (bad key, unknown account) is quarantined: scheduled imports stop and every owner and "
        "administrator is e-mailed once. Transient failures never count; they retry sooner instead.",
    )

    scim_rate_per_minute: int = Field(
        default=1200, ge=1,
        description="Requests one SCIM token may make per minute (bursts of a tenth of it); past it the SCIM "
        "door answers 429 with Retry-After. Counted per process.",
    )

    admin_session_idle_minutes: float = Field(
        default=30, gt=0,
        description="An administrator's portal session ends after this many minutes without a request.",
    )
    member_session_idle_minutes: float = Field(
        default=30, gt=0,
        description="A member's portal session ends after this many minutes without a request.",
    )
    session_max_hours: float = Field(
        default=12, gt=0,
        description="Every portal session (administrator or member) ends this many hours after sign-in, "
        "however active.",
    )
    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: str) -> str:
        parts = [part.strip() for part in value.split(",") if part.strip()]
        for part in parts:
            if part == "*":
                continue
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"HRSYNC_TRUSTED_PROXIES: {part!r} is not an IP address or network") from None
        return ",".join(parts)
    @model_validator(mode="after")
    def _smtp_credentials_need_tls(self) -> Settings:
        from hrsync.notify.smtp import SmtpUrlError, parse_smtp_url, require_tls_for_credentials

        if self.smtp_url:
            try:
                config = parse_smtp_url(self.smtp_url)
            except SmtpUrlError:
                return self  # malformed: reported (without the URL) when mail is sent
            require_tls_for_credentials(config, allow_plaintext_auth=self.smtp_allow_plaintext_auth)
        return self

    def resolved_drop_root(self) -> Path:
        return self.file_drop_root if self.file_drop_root is not None else self.data_dir / "drop"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hrsync.db').resolve()}"


def describe_settings_error(exc: ValidationError) -> str:
    """One line naming each refused setting and why, never its value (``hide_input_in_errors``)."""
    reasons = []
    for error in exc.errors(include_input=False, include_url=False):
        message = str(error["msg"]).removeprefix("Value error, ")
        field = ".".join(str(part) for part in error["loc"])
        reasons.append(f"HRSYNC_{field.upper()}: {message}" if field else message)
    return "; ".join(reasons)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    """Tests and the CLI change the environment; this forgets the cached settings."""
    get_settings.cache_clear()
