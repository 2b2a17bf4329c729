"""The source contract is the boundary (issue 23 item 3): outside its own folder, the simulator and the
migrations, hrsync names intelliHR only where this allow-list says why.

The test runs the issue's own command, ``git grep -il intellihr -- src/hrsync``, and compares the files it
lists with :data:`ALLOWED` both ways: a new file naming the kind fails (it should ask the kind through the
registry instead), and so does an allowed file that no longer needs it (the list must shrink with the code).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OWN_PLACES = ("src/hrsync/sources/intellihr/", "src/hrsync/simulator/", "src/hrsync/store/migrations/")

#: Files outside the kind's folder that name it, and why.
ALLOWED = {
    "src/hrsync/sources/registry.py": "the list of kinds imports the built-in ones",
    "src/hrsync/config.py": "HRSYNC_INTELLIHR_BASE_URL, the operator's setting of the intelliHR kind",
    "src/hrsync/cli/simulator.py": "``hrsync simulator`` serves the intelliHR simulator",
    "src/hrsync/cli/demo.py": "the demo starts the intelliHR simulator and says so",
    "src/hrsync/store/models/integration.py": "the kind column's schema default, from migration 0001",
    # Not yet moved behind the kind (see docs/decisions/0032-source-kind-contract.md, "Not done yet"):
}


def _naming_files() -> set[str]:
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout")
    listed = subprocess.run([git, "grep", "--untracked", "-il", "intellihr", "--", "src/hrsync"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.split()
    return {path for path in listed if not path.startswith(OWN_PLACES)}


def test_only_the_allowed_files_name_intellihr_outside_its_folder() -> None:
    found = _naming_files()
    assert found - set(ALLOWED) == set(), "ask the kind through hrsync.sources.registry instead of naming it"
    assert set(ALLOWED) - found == set(), "these no longer name intelliHR: take them off the allow-list"
