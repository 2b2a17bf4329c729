from hypothesis import given
from hypothesis import strategies as st

from hrsync.domain.display import display_name, field_label, sort_name

parts = st.one_of(st.none(), st.just(""), st.text(max_size=12).filter(lambda t: "None" not in t))


def test_missing_parts_are_left_out_never_none() -> None:
    assert display_name("Élodie", None) == "Élodie"
    assert display_name(None, "Williams") == "Williams"
    assert display_name("Élodie", "Martin", "Lo") == "Lo Martin"
    assert sort_name("Élodie", "Martin") == "Martin, Élodie"
    assert sort_name(None, "Williams") == "Williams"
    assert display_name() == sort_name() == ""


@given(parts, parts, parts)
def test_no_name_ever_reads_none(first: str | None, last: str | None, preferred: str | None) -> None:
    for name in (display_name(first, last, preferred), sort_name(first, last, preferred)):
        assert "None" not in name
        assert name == name.strip()


def test_labels_are_human() -> None:
    assert field_label("start_date") == "Start date"
    assert field_label("custom.costcentre") == "Costcentre"
    assert field_label("custom.cost_centre") == "Cost centre"
