#!/usr/bin/env python3
"""Fail on a dependency version with a published vulnerability (``make test`` runs this first).

Offline by design: this machine, like many build hosts, reaches no vulnerability service. The facts
live in ``security/advisories.toml`` (package, affected range, fixed version, advisory id), and this
script checks against them:

* every pin in ``constraints.txt`` (what ``make install`` and ``pip install -c constraints.txt .`` install);
* every distribution installed in the running interpreter's environment (what actually runs);
* every lower bound in ``pyproject.toml`` (a floor inside an affected range lets ``pip`` choose a
  vulnerable version where the constraints are not used).

When ``pip-audit`` is installed and a vulnerability service answers, it also runs
``pip-audit --no-deps -r constraints.txt``; otherwise the report says the audit ran offline only.
Exit status: 0 clean, 1 a known vulnerability (each one on its own line), 2 bad input.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import shutil
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
ONLINE_PROBE = "https://api.osv.dev/v1/query"


@dataclass(frozen=True)
class Advisory:
    package: str
    id: str
    aliases: tuple[str, ...]
    affected: SpecifierSet
    fixed: str
    summary: str

    def names(self) -> str:
        return ", ".join((self.id, *self.aliases))


class InputError(Exception):
    pass


def load_advisories(path: Path) -> dict[str, list[Advisory]]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    by_package: dict[str, list[Advisory]] = {}
    for number, entry in enumerate(document.get("advisory", []), start=1):
        try:
            advisory = Advisory(
                package=canonicalize_name(entry["package"]), id=str(entry["id"]),
                aliases=tuple(str(a) for a in entry.get("aliases", [])),
                affected=SpecifierSet(entry["affected"]), fixed=str(entry["fixed"]),
                summary=str(entry.get("summary", "")),
            )
            fixed = Version(advisory.fixed)
        except (KeyError, InvalidSpecifier, InvalidVersion) as exc:
            raise InputError(f"{path}: advisory #{number} is incomplete or malformed ({exc})") from None
        if advisory.affected.contains(fixed, prereleases=True):
            raise InputError(f"{path}: {advisory.id} says {advisory.fixed} is both fixed and affected")
        by_package.setdefault(advisory.package, []).append(advisory)
    if not by_package:
        raise InputError(f"{path} lists no advisory")
    return by_package


def read_pins(path: Path) -> dict[str, str]:
    """``name==version`` lines of a constraints or requirements file (comments, options and markers ignored)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    pins: dict[str, str] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            raise InputError(f"{path}:{number}: not a requirement: {line}") from None
        exact = [s.version for s in requirement.specifier if s.operator in ("==", "===")]
        if not exact:
            raise InputError(f"{path}:{number}: {requirement.name} is not pinned with ==")
        pins[canonicalize_name(requirement.name)] = exact[0]
    return pins


def installed_versions() -> dict[str, str]:
    return {canonicalize_name(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()
            if d.metadata["Name"]}


def project_floors(path: Path) -> dict[str, str]:
    """The ``>=`` lower bound of every dependency and extra in ``pyproject.toml``."""
    try:
        project = tomllib.loads(path.read_text(encoding="utf-8"))["project"]
    except (OSError, tomllib.TOMLDecodeError, KeyError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    lines = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        lines.extend(extra)
    floors: dict[str, str] = {}
    for line in lines:
        requirement = Requirement(line)
        lower = [s.version for s in requirement.specifier if s.operator == ">="]
        if lower:
            floors[canonicalize_name(requirement.name)] = max(lower, key=Version)
    return floors


def findings(where: str, versions: dict[str, str], advisories: dict[str, list[Advisory]]) -> list[str]:
    found = []
    for name, version in sorted(versions.items()):
        try:
            parsed = Version(version)
        except InvalidVersion:
            continue
        for advisory in advisories.get(name, []):
            if advisory.affected.contains(parsed, prereleases=True):
                found.append(f"{where}: {name} {version} is affected by {advisory.names()} ({advisory.affected}): "
                             f"{advisory.summary}; fixed in {advisory.fixed}")
    return found


def online_audit(constraints: Path) -> tuple[str, list[str]]:
    """pip-audit against a live service when both exist: (what happened, failures)."""
    executable = shutil.which("pip-audit") or (
        str(Path(sys.executable).with_name("pip-audit")) if Path(sys.executable).with_name("pip-audit").exists()
        else None)
    if executable is None:
        return "pip-audit is not installed: offline list only", []
    try:
        request = urllib.request.Request(ONLINE_PROBE, data=b'{"package":{"name":"jinja2","ecosystem":"PyPI"}}',
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - a fixed https URL
            response.read(1)
    except (urllib.error.URLError, OSError, ValueError):
        return "no vulnerability service answers (OSV unreachable): offline list only", []
    result = subprocess.run([executable, "--no-deps", "--disable-pip", "--vulnerability-service", "osv",
                             "-r", str(constraints)], capture_output=True, text=True, check=False)
    if result.returncode == 0:
        return "pip-audit (OSV) found nothing either", []
    return "pip-audit (OSV) reported vulnerabilities", [
        f"pip-audit: {line}" for line in (result.stdout + result.stderr).strip().splitlines()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--constraints", type=Path, default=ROOT / "constraints.txt")
    parser.add_argument("--advisories", type=Path, default=ROOT / "security" / "advisories.toml")
    parser.add_argument("--pyproject", type=Path, default=ROOT / "pyproject.toml")
    parser.add_argument("--no-installed", action="store_true", help="Skip the running environment's packages.")
    parser.add_argument("--offline", action="store_true", help="Never try pip-audit.")
    args = parser.parse_args(argv)
    try:
        advisories = load_advisories(args.advisories)
        pins = read_pins(args.constraints)
        floors = project_floors(args.pyproject)
    except InputError as exc:
        print(f"audit: {exc}", file=sys.stderr)
        return 2
    problems = findings(args.constraints.name, pins, advisories)
    problems += [f"{line} (raise the lower bound)" for line in findings(args.pyproject.name, floors, advisories)]
    checked = [f"{len(pins)} pins in {args.constraints.name}", f"{len(floors)} lower bounds in {args.pyproject.name}"]
    if not args.no_installed:
        installed = installed_versions()
        problems += findings("installed", installed, advisories)
        checked.append(f"{len(installed)} installed distributions")
    online, online_problems = ("not tried (--offline)", []) if args.offline else online_audit(args.constraints)
    problems += online_problems
    total = sum(len(v) for v in advisories.values())
    summary = f"audit: {', '.join(checked)} against {total} advisories in {args.advisories.name}; {online}"
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(f"{summary}: {len(problems)} known vulnerabilities, see above", file=sys.stderr)
        return 1
    print(f"{summary}: no known vulnerability")
    return 0


if __name__ == "__main__":
    sys.exit(main())
