"""Every activity the code can write has a sentence (ONE table, hrsync.domain.activity_words), and the
log's one writer refuses an action without one, so no page shows an action as a bare code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import hrsync
from hrsync.domain.activity_words import ACTIONS, SENTENCES, sentence
from hrsync.store.activity import record

SRC = Path(hrsync.__file__).parent
#: The functions that write an activity row (the writer and the small wrappers around it).
WRITERS = {"record", "_log", "_record", "_decided"}
#: A detail as full as any writer makes it, so every branch of a sentence gets its values.
RICH = {"run_id": 7, "undo_of": 5, "failed_run_id": 6, "attempt": 2, "dry_run": False, "via": "upload",
        "mapping": {"employee_id": "employeeNumber"}, "scope_rules": [{"field": "x"}], "transforms": {"a": {}},
        "key_last4": "abcd", "restored": "live", "how": "reauthorized", "failures": 3, "events": 4,
        "reason": "the key was refused", "why": "paused", "cap": 60, "count": 2, "from": "BambooHR",
        "to": "intelliHR", "email": "ada@example.com", "role": "owner", "employee_id": "E-1", "fields": ["last_name"],
        "invited": True, "name": "Payroll", "address": "acme.intellihr.net", "frequency": "daily"}


def _action_name(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(re.fullmatch(r"[a-z_]+", node.value))


def _written_actions() -> dict[str, str]:
    """Every action name the source code writes, with where: string constants given to a writer, and
    the ``*_ACTION`` / ``*_ACTIONS`` constants the writers are given."""
    found: dict[str, str] = {}
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "activity" not in text:
            continue
        where = str(path.relative_to(SRC))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in WRITERS:
                given = [kw.value for kw in node.keywords if kw.arg == "action"]  # action="x" or a choice of two
                given = [c for v in given for c in ast.walk(v)] + list(node.args)  # or the positional "x"
                for c in given:
                    if _action_name(c):
                        found[c.value] = where
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                if node.value is not None and any(re.fullmatch(r"[A-Z_]*ACTIONS?", n) for n in names):
                    value = node.value
                    for c in value.values if isinstance(value, ast.Dict) else [value]:  # a dict's values
                        if _action_name(c):
                            found[c.value] = where
    return found


def test_every_action_the_code_writes_has_a_sentence() -> None:
    written = _written_actions()
    assert len(written) > 40, f"the scan found too few actions: {sorted(written)}"
    missing = {action: where for action, where in written.items() if action not in ACTIONS}
    assert missing == {}, f"add a sentence to hrsync.domain.activity_words.SENTENCES for: {missing}"


@pytest.mark.parametrize("action", sorted(SENTENCES))
def test_each_sentence_reads_as_words_with_or_without_details(action: str) -> None:
    for detail in ({}, RICH, {k: None for k in RICH}):
        text = sentence(action, detail, "intelliHR")  # ids in words by the default: "import #7", "an import"
        assert text and text == text.strip(), (action, detail)
        assert not re.search(r"None|_|\{|\}|\[|\]|#None|\?\?", text), (action, text)


def test_a_run_is_named_by_its_number_never_its_id() -> None:
    numbers = {7: "import #2"}
    text = sentence("approved_run", {"run_id": 7}, "intelliHR", lambda run_id: numbers.get(run_id, "an import"))
    assert text == "approved held import #2"
    assert sentence("previewed", {"run_id": 7, "dry_run": True}) != sentence("imported_now", {"run_id": 7})
    assert "import" not in sentence("previewed", {}).replace("first import", "")  # a preview is not an import


def test_the_writer_refuses_an_action_without_a_sentence() -> None:
    with pytest.raises(ValueError, match="no sentence"):
        record(None, programme_id=1, action="did_something_new")  # type: ignore[arg-type]
