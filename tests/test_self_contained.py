"""The checkout needs nothing beside it: no test or module names a path outside the repository.

A fresh clone has no sibling folders (the team's reference material lives outside the repository and is
never read at run time), so a path that climbs out of the checkout or names a machine's folder would make
``make test`` fail, or skip, for everyone who clones it. Data a test needs is vendored under
``tests/data/`` with a note of where it came from.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: A path out of the checkout: a parent of the repository joined with a name, a sibling ``shared`` folder,
#: or an absolute folder of the machine the code was written on.
OUTSIDE = re.compile(r"""(?x)
    parents\[\d+\]\s*/\s*["']\.\.["']     # Path(__file__).parents[N] / ".."
  | ["']\.\./shared                       # "../shared/..."
  | ["']/work/                            # a machine path
  | ["']/(?:home|root)/[^"']+             # someone's home folder
  | ["']/Users/[A-Za-z][^"']*             # a macOS one (not SCIM's "/Users/{id}" nor "/Users/.search")
""")


def test_no_test_or_module_reads_a_path_outside_the_repository() -> None:
    offenders = []
    for folder in ("src", "tests", "bench", "scripts"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == Path(__file__).resolve():
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if OUTSIDE.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "paths outside the checkout:\n" + "\n".join(offenders)


def test_the_vendored_spec_is_there_with_its_note() -> None:
    folder = ROOT / "tests" / "data" / "intellihr"
    assert (folder / "intellihr-public-api-v1.json").stat().st_size > 100_000
    assert "copied here on" in (folder / "README.md").read_text(encoding="utf-8")
