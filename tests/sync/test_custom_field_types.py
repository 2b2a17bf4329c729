"""An import through the CLI maps every custom field type intelliHR publishes to the right text."""

from __future__ import annotations

import subprocess
from typing import Any

from .conftest import HRSYNC, Install

MAP = {
    "custom.cost": "custom.costCentre",  # TEXT
    "custom.badge": "custom.badgeNumber",  # NUMBER, sent as "50"
    "custom.size": "custom.tshirtSize",  # SINGLE_SELECT {id, label}
    "custom.languages": "custom.languagesSpoken",  # MULTI_SELECT {ids, labels}
    "custom.mentor": "custom.mentor",  # PEOPLE_DROPDOWN {options: {job, person}}
    "custom.mentor_number": "custom.mentor.employeeNumber",  # ... and the person's employee number
}


def _expected(person: dict[str, Any]) -> dict[str, str | None]:
    fields = person["customFields"]
    size, languages, mentor = (fields[k]["value"] for k in ("tshirtSize", "languagesSpoken", "mentor"))
    return {
        "cost": fields["costCentre"]["value"],
        "badge": fields["badgeNumber"]["value"],
        "size": size and size["label"],
        "languages": languages and ", ".join(languages["labels"]),
        "mentor": mentor and mentor["options"]["person"]["displayName"],
        "mentor_number": mentor and mentor["options"]["person"]["employeeNumber"],
    }


def test_every_custom_field_type_becomes_the_right_text_and_an_unknown_shape_a_warning(install: Install) -> None:
    args = [a for target, source in MAP.items() for a in ("--map", f"{target}={source}")]
    integration = install.setup_integration(*args)
    install.cli_json("import", str(integration))
    members = install.members()
    people = {p["employeeNumber"]: p for p in install.sim.directory.people() if p["employeeNumber"] in members}
    assert len(people) > 50
    seen: dict[str, set[str]] = {name: set() for name in _expected(next(iter(people.values())))}
    for number, person in people.items():
        attributes = members[number]["attributes"]
        for name, text in _expected(person).items():
            if text is not None:
                assert attributes[f"custom.{name}"] == text, (number, name)
                seen[name].add(text)
    assert all(seen.values()), seen  # every type delivered a value to someone
    assert any(", " in text for text in seen["languages"])  # several labels: one value, joined

    # A shape no published type has (a future type, say) is a warning naming the field, not a blank.
    number, person = next((n, p) for n, p in people.items() if _expected(p)["cost"] is not None)
    before = members[number]["attributes"]["custom.cost"]
    install.sim.directory.change(person["id"], customFields={"costCentre": {"score": 4, "outOf": 5}})
    result = install.cli_json("import", str(integration))
    assert result["warnings"] >= 1
    assert install.members()[number]["attributes"]["custom.cost"] == before  # kept, not blanked
    proc = subprocess.run(
        [HRSYNC, "run", "errors", str(result["id"]), "--warnings"], env=install.env, capture_output=True, text=True
    )
    assert proc.returncode == 0
    rows = [line for line in proc.stdout.splitlines() if number in line and "unreadable_value" in line]
    # the Field column names the mapped field by its label (custom.cost → "Cost"), as every CSV does
    assert len(rows) == 1 and "'Cost centre' (costCentre)" in rows[0] and ",Cost," in rows[0], proc.stdout
