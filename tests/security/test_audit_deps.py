"""scripts/audit_deps.py: the offline dependency audit ``make test`` runs first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "audit_deps.py"
CLEAN_PYPROJECT = '[project]\nname = "x"\ndependencies = ["starlette>=1.3.1,<2", "jinja2>=3.1.6"]\n'


def _audit(tmp_path: Path, constraints: str, pyproject: str = CLEAN_PYPROJECT, *extra: str,
           advisories: Path | None = None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "constraints.txt").write_text(constraints)
    (tmp_path / "pyproject.toml").write_text(pyproject)
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--constraints", str(tmp_path / "constraints.txt"),
         "--pyproject", str(tmp_path / "pyproject.toml"), "--offline", "--no-installed",
         *(["--advisories", str(advisories)] if advisories else []), *extra],
        capture_output=True, text=True, timeout=120, check=False)


def test_the_projects_own_pins_floors_and_environment_pass() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "--offline"], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "no known vulnerability" in result.stdout and "installed distributions" in result.stdout


def test_a_vulnerable_pin_fails_naming_the_advisory_and_the_fix(tmp_path: Path) -> None:
    result = _audit(tmp_path, "# pinned\nStarlette==0.45.0\nJinja2==3.1.6\nh11==0.14.0 ; python_version >= '3'\n")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert any("constraints.txt: starlette 0.45.0 is affected by GHSA-2c2j-9gv5-cj73" in line
               and "fixed in 0.47.2" in line for line in lines)
    assert any("h11 0.14.0 is affected by GHSA-vqfr-h8mv-ghfj, CVE-2025-43859" in line for line in lines)
    assert not any("jinja2" in line for line in lines)
    assert "known vulnerabilities, see above" in lines[-1]


def test_fixed_versions_pass_and_the_report_says_it_ran_offline(tmp_path: Path) -> None:
    result = _audit(tmp_path, "starlette==1.3.1\njinja2==3.1.6\nh11==0.16.0\ncryptography==46.0.5\n")
    assert result.returncode == 0, result.stderr
    assert "4 pins" in result.stdout and "not tried (--offline)" in result.stdout


def test_a_floor_inside_an_affected_range_fails(tmp_path: Path) -> None:
    pyproject = ('[project]\nname = "x"\ndependencies = []\n'
                 '[project.optional-dependencies]\ndemo = ["aiosmtpd>=1.4,<2"]\n')
    result = _audit(tmp_path, "aiosmtpd==1.4.6\n", pyproject)
    assert result.returncode == 1
    assert "pyproject.toml: aiosmtpd 1.4 is affected by" in result.stderr
    assert "(raise the lower bound)" in result.stderr


def test_bad_input_is_exit_2(tmp_path: Path) -> None:
    assert _audit(tmp_path, "starlette>=1.0\n").returncode == 2  # not a pin
    broken = tmp_path / "advisories.toml"
    broken.write_text('[[advisory]]\npackage = "x"\nid = "GHSA-x"\naffected = "<2"\nfixed = "1.5"\n')
    result = _audit(tmp_path, "x==1.0\n", advisories=broken)
    assert result.returncode == 2
    assert "both fixed and affected" in result.stderr
