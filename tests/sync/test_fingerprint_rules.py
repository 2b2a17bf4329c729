"""A change to the rules that turn a person into a draft must bump ``RULES_VERSION``.

Stored fingerprints vouch for drafts made by the rules of the release that stored them
(:mod:`hrsync.domain.fingerprint`). If validation, normalisation or the mapping rules change and the
version does not, members keep being settled by fingerprints of the old rules, and an import with the
shortcut differs from one without. So this test holds a digest of the rules' source for the current
version: when it fails, decide whether what ``build_draft`` makes of a person changed. If it did, bump
``RULES_VERSION``; either way, record the new digest below for the (new) version.
"""

from __future__ import annotations

import hashlib
import inspect

from hrsync.domain import dates, fields, fingerprint, records, scoping, transforms, validation

#: RULES_VERSION → the digest of the rules' source it was set for.
#: Version 1's digest was recorded again for issue 15 (transforms, scoping): without either configured a
#: person's draft is what it was, and both are part of the fingerprint's key (decision 0026).
#: Recorded again for issue 23: the rules' modules only stopped naming intelliHR in their comments and
#: docstrings (an HR system's exclusive end date, HR systems' gender spellings); no rule changed.
#: Recorded again for issue 27: build_draft hands repeated values to the read's ValuePool, which gives back an
#: equal value of the same type (tests/domain/test_domain_records.py holds it to that); no draft changed.
RULES_DIGESTS = {1: "3296f4243d27b577"}

_RECORD_RULES = ("_compile", "CompiledMapping", "_shown", "_required", "_unreadable", "build_draft")


def rules_digest() -> str:
    parts = [inspect.getsource(module) for module in (validation, fields, dates, transforms, scoping)]
    parts += [inspect.getsource(getattr(records, name)) for name in _RECORD_RULES]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:16]


def test_the_rules_version_names_the_rules_it_was_set_for() -> None:
    assert RULES_DIGESTS.get(fingerprint.RULES_VERSION) == rules_digest(), (
        f"The rules behind build_draft changed (digest {rules_digest()}). Bump RULES_VERSION in "
        "hrsync/domain/fingerprint.py if what a person becomes changed, and record the digest here."
    )
