"""What one run knows about its integration, read once when the run starts.

The mapping, the employment-status table, the choices the planner and the brake read, whether the
key field changed, the programme's time zone and how to open the source: a :class:`RunContext`
snapshot built by :meth:`RunContext.load` and handed to every step, so no step reads the
integration again (or differently) half-way through a run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy.orm import Session

from hrsync.domain import CompiledMapping, PlanOptions, compile_mapping
from hrsync.domain.fields import EMPLOYEE_ID
from hrsync.domain.fingerprint import Fingerprinter
from hrsync.domain.scoping import Scope
from hrsync.domain.vocabulary import programme_today
from hrsync.sources import registry
from hrsync.sources.base import Lifecycle, Source
from hrsync.sources.registry import source_for
from hrsync.store.db import head_revision
from hrsync.store.models import ImportRun, Integration, Programme

SourceFactory = Callable[[Integration], Source]


def mapping_of(integration: Integration) -> dict[str, str]:
    """The integration's mapping (member field → source field); its source kind's suggestion while
    none is stored."""
    if integration.mapping:
        return dict(integration.mapping)
    return registry.kind_of(integration.kind).default_mapping(integration)


def key_changed(integration: Integration) -> bool:
    """Whether the mapping's key field differs from the one the members' employee IDs came from."""
    return integration.key_source is not None and integration.key_source != mapping_of(integration)[EMPLOYEE_ID]


@dataclass(frozen=True)
class RunContext:
    """One run's snapshot of its integration's settings (see the module docstring)."""

    run_id: int
    integration_id: int
    programme_id: int
    dry_run: bool
    timezone: str | None
    mapping: dict[str, str]
    status_table: dict[str, Lifecycle]
    welcome_email: bool
    blanks_clear_values: bool
    vanished_are_leavers: bool
    leaver_threshold_pct: float
    key_changed: bool
    integration: Integration  # detached: what the source factory opens the source from
    source_factory: SourceFactory
    #: Value transforms (target → transform, :mod:`hrsync.domain.transforms`) and scoping rules
    #: (:mod:`hrsync.domain.scoping`): both shape what a person's draft is, so both key the fingerprints.
    transforms: dict[str, Any] = field(default_factory=dict)
    scope: Scope = field(default_factory=lambda: Scope.of(None))
    #: Whether people whose fingerprint matches are left unchanged without drafting them
    #: (``execute_run(skip_unchanged=False)`` turns it off; fingerprints are written either way).
    skip_unchanged: bool = True

    @classmethod
    def load(
        cls, session: Session, run_id: int, source_factory: SourceFactory | None = None, *,
        skip_unchanged: bool = True,
    ) -> RunContext:
        run = session.get(ImportRun, run_id)
        assert run is not None
        integration = session.get(Integration, run.integration_id)
        assert integration is not None
        return cls.of_integration(session, integration, run_id=run.id, dry_run=run.dry_run,
                                  source_factory=source_factory or _consuming(not run.dry_run),
                                  skip_unchanged=skip_unchanged)

    @classmethod
    def of_integration(
        cls, session: Session, integration: Integration, *, run_id: int, dry_run: bool,
        source_factory: SourceFactory, skip_unchanged: bool = True,
    ) -> RunContext:
        """What a run of ``integration`` reads of its settings: the one place a context is built (a
        run's, and a trace's with run id 0), so both see the same mapping, transforms and rules."""
        programme = session.get(Programme, integration.programme_id)
        assert programme is not None
        changed_key = key_changed(integration)
        return cls(
            run_id=run_id,
            integration_id=integration.id,
            programme_id=programme.id,
            dry_run=dry_run,
            timezone=programme.timezone,
            mapping=mapping_of(integration),
            status_table=registry.kind_of(integration.kind).status_table(integration.status_map),
            welcome_email=integration.welcome_email,
            blanks_clear_values=integration.blanks_clear_values,
            vanished_are_leavers=integration.vanished_are_leavers,
            leaver_threshold_pct=integration.leaver_threshold_pct,
            key_changed=changed_key,
            transforms=dict(integration.transforms or {}),
            scope=Scope.of(integration.scope_rules),
            integration=integration,
            source_factory=source_factory,
            # After a change of the key's source field people are matched by record: draft them all.
            skip_unchanged=skip_unchanged and not changed_key,
        )

    def today(self, now: datetime | None = None) -> date:
        """Today where the programme is: the date leavers and windows are planned on."""
        return programme_today(self.timezone, now)

    def plan_options(self, today: date) -> PlanOptions:
        return PlanOptions(
            today=today,
            welcome_email=self.welcome_email,
            blanks_clear_values=self.blanks_clear_values,
            vanished_are_leavers=self.vanished_are_leavers,
            match_by_record=self.key_changed,
        )

    def compiled(self) -> CompiledMapping:
        """The mapping with its value transforms, resolved once per read."""
        return compile_mapping(self.mapping, self.transforms)

    def fields_read(self, compiled: CompiledMapping) -> set[str]:
        """Every source field a draft or a scoping rule reads, and the person's own ID in the source
        (:meth:`own_id_key`, for the error file): what the source is asked for."""
        own = self.own_id_key()
        return set(self.mapping.values()) | set(compiled.reads) | self.scope.fields | ({own} if own else set())

    def own_id_key(self) -> str | None:
        """The source field holding a person's own ID as the source's people know it (the kind's
        ``fallback_key``: a number, where the record id may be an internal UUID); None when the kind has none."""
        kind = registry.REGISTRY.get(self.integration.kind)
        return kind.fallback_key[0] if kind is not None and kind.fallback_key else None

    def fingerprinter(self, compiled: CompiledMapping) -> Fingerprinter:
        """This run's fingerprints (:mod:`hrsync.domain.fingerprint`), keyed by everything besides the
        person that the drafts depend on."""
        return Fingerprinter.for_import(
            self.mapping, compiled, integration_id=self.integration_id,
            blanks_clear_values=self.blanks_clear_values, schema_revision=_schema_revision(),
            transforms=self.transforms, scope=self.scope,
        )

    def open_source(self) -> Source:
        return self.source_factory(self.integration)


@cache
def _schema_revision() -> str | None:
    """The schema revision this code writes (part of every fingerprint's key)."""
    return head_revision()


def _consuming(consume: bool) -> SourceFactory:
    """The registry's source, told whether this run consumes what it reads (a real import moves a
    membership file to ``processed/``; a dry run leaves it)."""

    def open_source(integration: Integration) -> Source:
        return source_for(integration, consume=consume)

    return open_source
