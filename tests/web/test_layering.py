"""The portal calls services only: nothing under ``hrsync/web`` imports the runner or the job queue."""

from __future__ import annotations

import ast
from pathlib import Path

import hrsync.web

WEB = Path(hrsync.web.__file__).parent
FORBIDDEN = ("hrsync.sync", "hrsync.jobs")


def _imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            if node.module == "hrsync":
                found.extend((node.lineno, f"hrsync.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module":
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def test_web_imports_nothing_from_sync_or_jobs() -> None:
    files = sorted(WEB.rglob("*.py"))
    assert len(files) > 10, "the web package was not found"
    offending = [
        f"{path.relative_to(WEB.parent)}:{line}: {module}"
        for path in files
        for line, module in _imported_modules(ast.parse(path.read_text(encoding="utf-8")))
        if any(module == f or module.startswith(f + ".") for f in FORBIDDEN)
    ]
    assert offending == [], "web must go through hrsync.services:\n" + "\n".join(offending)


def test_no_web_module_is_over_500_lines() -> None:
    long = {p.name: n for p in WEB.rglob("*.py") if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500}
    assert long == {}
