"""``hrsync`` starts without the heavy modules (issue 27): commands are imported when they run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from tests.sync.conftest import Install, database_url, install

import hrsync.cli
from hrsync.cli import main as cli_main

__all__ = ["database_url", "install"]

HEAVY = ("sqlalchemy", "celery", "kombu", "fastapi", "starlette", "jinja2", "pydantic", "httpx", "alembic",
         "psycopg", "hrsync.store", "hrsync.sync", "hrsync.web", "hrsync.services", "hrsync.jobs", "hrsync.config")

_PROBE = """
import json, sys
sys.argv = ["hrsync"] + sys.argv[1:]
from hrsync.cli.main import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(k for k, v in sys.modules.items() if v is not None)))  # a None entry is a refused import
"""


def _modules_after(*args: str) -> tuple[str, list[str]]:
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, timeout=120,
                          check=True)
    first, _, last = done.stdout.strip().rpartition("\n")
    return first, json.loads(last)


def _loaded(modules: list[str], prefix: str) -> bool:
    return any(m == prefix or m.startswith(prefix + ".") for m in modules)


def test_version_loads_no_heavy_module() -> None:
    shown, modules = _modules_after("--version")
    assert shown.startswith("hrsync, version ")
    assert [h for h in HEAVY if _loaded(modules, h)] == []


def test_a_command_loads_its_module_only_when_it_runs() -> None:
    shown, modules = _modules_after("db", "--help")
    assert "current" in shown  # the db group's own help, so the lazy lookup found it
    assert _loaded(modules, "hrsync.cli.db")
    assert not _loaded(modules, "hrsync.cli.worker") and not _loaded(modules, "celery")


def test_the_command_table_names_every_command_of_every_module() -> None:
    """A command added to a module but not to the table would be unreachable: read the decorators."""
    declared: dict[str, str] = {}
    for path in Path(hrsync.cli.__file__).parent.glob("*.py"):
        for name in re.findall(r'^@cli\.(?:command|group)\("([^"]+)"', path.read_text(), re.MULTILINE):
            declared[name] = path.stem
    assert declared, "no command found: has the way commands register changed?"
    assert {name: mods[0] for name, mods in cli_main._COMMAND_MODULES.items()} == declared
    listed = CliRunner().invoke(cli_main.cli, ["--help"])
    assert listed.exit_code == 0, listed.output
    for name in declared:
        assert re.search(rf"^  {re.escape(name)}\b", listed.output, re.MULTILINE), name


_IMPORT_PATH = """
import json, sys
import hrsync.jobs.tasks, hrsync.jobs.dispatch, hrsync.sync.execute, hrsync.sources.registry
import hrsync.sources.intellihr.source, hrsync.sources.bamboohr.source
print(json.dumps(sorted(k for k, v in sys.modules.items() if v is not None)))  # a None entry is a refused import
"""


def test_what_an_import_loads_leaves_out_migrations_and_the_password_checker() -> None:
    """A worker or scheduler process runs imports and never migrates or checks a password: Alembic (with
    Mako) and zxcvbn (its dictionaries), together about 20 MB, load only in the process that does, and
    httpx's command-line client never (issue 27: a worker under 250 MB)."""
    done = subprocess.run([sys.executable, "-c", _IMPORT_PATH], capture_output=True, text=True, timeout=120,
                          check=True)
    modules = json.loads(done.stdout.strip().rpartition("\n")[2])
    assert _loaded(modules, "hrsync.sync.execute") and _loaded(modules, "sqlalchemy")
    assert [m for m in ("alembic", "mako", "zxcvbn") if _loaded(modules, m)] == []
    # httpx's own command line (hrsync.__init__ keeps it out): rich and pygments, about 6 MB
    assert _loaded(modules, "httpx") and [m for m in ("rich", "pygments") if _loaded(modules, m)] == []


def test_an_import_run_loads_no_migrations(install: Install) -> None:
    """The same, once an import has run: the run's fingerprints are keyed by the schema's head revision,
    and the process reads it (and the database's own revision) without loading Alembic."""
    integration = install.setup_integration()  # migrated by this process beforehand
    done = subprocess.run([sys.executable, "-c", _PROBE, "import", str(integration), "--json"], env=install.env,
                          capture_output=True, text=True, timeout=120, check=True)
    shown, _, last = done.stdout.strip().rpartition("\n")
    assert json.loads(shown)["created"] > 0
    modules = json.loads(last)
    assert _loaded(modules, "hrsync.sync.execute")
    assert [m for m in ("alembic", "mako", "zxcvbn") if _loaded(modules, m)] == []
