"""Fingerprints: telling, without mapping and validating a person again, that their member stays as it is.

Most people do not change between two imports. Mapping, normalising, validating and diffing every
one of them again is most of an import's own work, so each member stores a **fingerprint**: a keyed
hash (BLAKE2b, 128 bits) of

* everything :func:`hrsync.domain.records.build_draft` reads of the person (the HR record id, the
  lifecycle and employment status, the primary job's dates, each source value the mapping reads,
  telling a blank from a value that was not delivered, and the fields the source could not read);
* the employee ID and e-mail address of the draft that was applied;
* and, as the key, what the rules depend on besides the person (:meth:`Fingerprinter.for_import`):
  the integration, its mapping (in order), its value transforms and scoping rules (whose source
  fields are part of the basis, decision 0026), whether blanks clear values, :data:`RULES_VERSION`
  and the database schema's revision. Changing any of them changes every fingerprint.

**The invariant** (see docs/decisions/0020). A member ``m`` carries fingerprint ``f`` only when an
import wrote it, with ``f`` computed from the draft ``d`` of a person ``p`` that had **no issues**,
and the same write left ``m`` such that :func:`hrsync.domain.planner.plan_sync` would plan ``d``
against ``m`` as UNCHANGED for every status ``s`` with ``keeps_status(d.lifecycle, s)``
(:func:`~hrsync.domain.plan_types.keeps_status`):

* a CREATE, PENDING, UPDATE or REINSTATE writes all of ``d`` (the changed fields, the rest equal);
* an UNCHANGED outcome found ``m`` equal to ``d`` already (the planner hands the fingerprint over in
  :attr:`SyncPlan.fingerprints`);
* a LEAVER (inactive ``d``) writes the leaver status; an inactive person's leaver is UNCHANGED
  whatever its values, so those are not needed.

Every other write of a member's planned fields goes through an import's apply, which writes the
member's fingerprint with it (``None`` when the draft had issues or there is no draft); the only
other writers change the status (an invitation accepted, a pre-hire's start date, the close-down
deleting a leaver), and the status is checked on every use.

**The shortcut** (:func:`settled_draft`). A person ``p`` whose HR record belongs to member ``m``,
whose fingerprint computed with ``m``'s employee ID and address equals ``m``'s, and whose lifecycle
keeps ``m``'s status, has the draft ``d`` of the invariant (``build_draft`` is a function of what
the fingerprint covers), with no issues, and ``d`` is UNCHANGED against ``m``. The person becomes a
**stand-in** draft: ``d``'s record id, employee ID, address and lifecycle (everything the planner's
cross-record rules read: duplicate IDs, addresses, swaps, relinking, vanished members) and no values.
The planner refuses to plan any change from a stand-in (:class:`StandInOutdated`): the runner then
reads the directory again without the shortcut. That only happens when a member changed between
the start of the read and the plan (a close-down deleting a leaver meanwhile, another import).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from hrsync.domain.plan_types import CurrentMember, keeps_status
from hrsync.domain.records import CompiledMapping, MemberDraft
from hrsync.domain.scoping import Scope
from hrsync.domain.transforms import canonical
from hrsync.sources.base import Lifecycle, SourcePerson

#: Bump when what :func:`~hrsync.domain.records.build_draft` makes of the same person changes
#: (validation, normalisation, issue codes or messages, mapping rules): every stored fingerprint
#: then stops matching and the next import takes everyone the full way.
#: ``tests/sync/test_fingerprint_rules.py`` fails when the rules' source changes without a bump.
RULES_VERSION: Final = 1
FORMAT: Final = 1  # of the fingerprint itself
DIGEST_BYTES: Final = 16  # 32 hex characters in ``member.fingerprint``

_NO_VALUES: Final[dict[str, str | None]] = {}  # a stand-in's values: none (never written, never read)


_LIFECYCLE: Final = {lifecycle: lifecycle.value for lifecycle in Lifecycle}  # faster than .value


@dataclass(frozen=True, slots=True)
class Fingerprinter:
    """One import's fingerprint function: its key and the source fields its mapping reads."""

    keyed: Any  # a BLAKE2b state keyed once per import; each fingerprint hashes a copy of it
    sources: tuple[str, ...]  # source keys the mapping reads, key fields first

    @classmethod
    def for_import(
        cls,
        mapping: Mapping[str, str],
        compiled: CompiledMapping,
        *,
        integration_id: int,
        blanks_clear_values: bool,
        schema_revision: str | None,
        transforms: Mapping[str, Mapping[str, Any]] | None = None,
        scope: Scope | None = None,
    ) -> Fingerprinter:
        """``transforms`` (:mod:`~hrsync.domain.transforms`) and ``scope`` (:mod:`~hrsync.domain.scoping`)
        change what a person's draft is: both are part of the key, and the source fields they read are
        part of the basis."""
        context = repr((FORMAT, RULES_VERSION, schema_revision, integration_id, blanks_clear_values,
                        tuple(mapping.items()), canonical(transforms) if transforms else "",
                        scope.canonical() if scope else ""))
        key = hashlib.blake2b(context.encode("utf-8"), digest_size=32).digest()
        sources: tuple[str, ...] = compiled.reads or (
            compiled.employee_id_source, compiled.email_source,
            *(source for _target, source, _rule, _check in compiled.optional))
        if scope:
            sources += tuple(sorted(scope.fields - set(sources)))
        return cls(hashlib.blake2b(digest_size=DIGEST_BYTES, key=key), sources)

    def basis(self, person: SourcePerson) -> str:
        """Everything ``build_draft`` reads of ``person``, as one unambiguous text: the ``repr`` of a
        flat tuple of fixed shape (strings are quoted, a value that was not delivered is ``Ellipsis``,
        a blank ``None``, dates are day numbers)."""
        values = person.values
        problems = person.field_problems
        start, end = person.job_start_date, person.job_end_date
        return repr((
            person.source_id, _LIFECYCLE[person.lifecycle], person.employment_status,
            None if start is None else start.toordinal(), None if end is None else end.toordinal(),
            *[values.get(k, ...) for k in self.sources],
            tuple([problems.get(k) for k in self.sources]) if problems else None,
        ))

    def of(self, basis: str, employee_id: str, email: str) -> str:
        """The fingerprint of a person (their :meth:`basis`) applied as ``employee_id`` / ``email``."""
        digest = self.keyed.copy()
        digest.update(f"{basis}\x00{employee_id!r}\x00{email!r}".encode())
        result: str = digest.hexdigest()
        return result


def settled_draft(
    person: SourcePerson, basis: str, member: CurrentMember, fingerprinter: Fingerprinter
) -> MemberDraft | None:
    """A stand-in for ``person`` when their fingerprint shows their member ``member`` (the member of
    their HR record) stays unchanged; ``None`` when the person must be drafted in full."""
    if member.fingerprint is None or not keeps_status(person.lifecycle, member.status):
        return None
    if fingerprinter.of(basis, member.employee_id, member.email) != member.fingerprint:
        return None
    # positional (source_id, employee_id, email, lifecycle, employment_status, values, start_date,
    # leaving_date, fingerprint, stand_in): a third faster than by keyword, once per unchanged person
    return MemberDraft(person.source_id, member.employee_id, member.email, person.lifecycle,
                       person.employment_status, _NO_VALUES, None, None, member.fingerprint, True)
