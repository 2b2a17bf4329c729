"""What one value of a person may show to an administrator outside the member page (issue 22).

ONE rule, used by every stage of a trace (:mod:`hrsync.sync.trace`) and so by its page, its JSON API
and its CLI, for every role. A value is shown only when :meth:`Masking.hidden_because` finds no
reason to hide it; otherwise it is replaced by a word: :data:`PRESENT`, :data:`BLANK` or
:data:`INVALID`. A value is hidden when

* the source marks its field **sensitive** (an HR system's own flag, such as ``isSensitive``) or **personal** (phone,
  address, date of birth), whatever it is mapped to;
* it feeds a **personal member field** (:data:`PERSONAL_FIELDS`: phone, address, postcode, date of
  birth), whatever the source calls it;
* the mapping does **not read** it (no member will ever hold it);
* the person is **not a member**, unless the field explains anyone's outcome (:data:`EXPLAINS`: the
  key, the address, the names, employment status and the dates). The member page shows a member's
  mapped values anyway; nobody's page shows a stranger's.

The key fields (employee ID, e-mail) are always shown: a trace is asked by them and is about them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Final

from hrsync.domain.fields import KEY_FIELDS

PRESENT: Final = "(present)"
BLANK: Final = "(blank)"
INVALID: Final = "(invalid)"
#: Member fields whose values are personal data: named, never shown (README, *Trace one person*).
PERSONAL_FIELDS: Final = frozenset({"phone", "address", "postcode", "date_of_birth"})
#: What explains any person's outcome, member or not ("source_id", "status", "employment_status",
#: "leaving_date" are the trace's own rows: the HR record, the member status, the primary job).
EXPLAINS: Final = frozenset({
    *KEY_FIELDS, "first_name", "last_name", "preferred_name", "start_date", "leaving_date",
    "employment_status", "source_id", "status",
})


@dataclass(frozen=True, slots=True)
class Masking:
    """The rule for one traced person. ``mapping``: member field → source field; ``sensitive`` and
    ``personal``: source fields the source marks so; ``member``: the person is a member (and the
    source's field marks could be read)."""

    mapping: Mapping[str, str] = field(default_factory=dict)
    sensitive: Collection[str] = frozenset()
    personal: Collection[str] = frozenset()
    member: bool = False

    def hidden_because(self, target: str | None = None, source: str | None = None) -> str:
        """Why the value of member field ``target`` (or source field ``source``) is hidden; ``""``
        when it may be shown. The one decision: everything else formats it."""
        targets = [target] if target is not None else [t for t, s in self.mapping.items() if s == source]
        sources = [source] if source is not None else [self.mapping.get(target or "")]
        if targets and all(t in KEY_FIELDS for t in targets):
            return ""
        if any(s in self.sensitive for s in sources if s):
            return "sensitive in the HR system"
        if any(s in self.personal for s in sources if s) or any(t in PERSONAL_FIELDS for t in targets):
            return "personal"
        if not targets:
            return "not mapped"
        if not self.member and not all(t in EXPLAINS for t in targets):
            return "not a member"
        return ""

    def show(self, value: str | None, target: str | None = None, source: str | None = None, *,
             invalid: bool = False) -> str:
        """``value`` itself when it may be shown; otherwise present, blank or invalid."""
        if invalid:
            return INVALID
        if value is None or not str(value).strip():
            return BLANK
        return PRESENT if self.hidden_because(target, source) else str(value)

    def row(self, value: str | None, target: str | None = None, source: str | None = None
            ) -> tuple[str, str, str]:
        """(what to show, ``masked`` or ``info``, why hidden): a trace row's value, status and note."""
        why = self.hidden_because(target, source)
        return self.show(value, target, source), "masked" if why else "info", why

    def changes(self, changes: Mapping[str, tuple[str | None, str | None]]
                ) -> dict[str, tuple[str | None, str | None]]:
        """A planned change's ``{field: (old, new)}`` with hidden values replaced (blanks stay ``None``)."""
        def one(key: str, value: str | None) -> str | None:
            return None if value is None else self.show(value, key)

        return {k: (one(k, old), one(k, new)) for k, (old, new) in changes.items()}

    def says(self, target: str | None, message: str) -> str:
        """An issue's message about member field ``target``; a validation message quotes the value, so
        for a hidden one it is said without it."""
        if target is None or not self.hidden_because(target):
            return message
        return "not valid (the value is not shown here); the person was imported without it."
