"""Value transforms: pure, chosen from a list, applied before validation (decision 0026)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hrsync.domain.fields import DEFAULT_MAPPING
from hrsync.domain.fingerprint import Fingerprinter
from hrsync.domain.records import build_draft, compile_mapping
from hrsync.domain.transforms import (
    ABSENT,
    compile_one,
    concat,
    first_non_blank,
    is_blank,
    lookup,
    lower,
    reformat_date,
    title,
    trim,
    upper,
    validate_transforms,
)

from .domain_builders import person

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
maybe = st.none() | text
blank = st.sampled_from([None, "", " ", "\t", "  \n "])


@given(maybe)
def test_trim_is_idempotent_and_leaves_no_outer_spaces(value: str | None) -> None:
    once = trim(value)
    assert trim(once) == once
    assert once is None or (once == once.strip() and once)
    assert (once is None) == is_blank(value)


@given(maybe)
def test_case_transforms_are_idempotent_and_trim(value: str | None) -> None:
    for transform in (upper, lower):
        once = transform(value)
        assert transform(once) == once
        assert (once is None) == is_blank(value)
    shown = title(value)
    assert (shown is None) == is_blank(value)


@given(st.lists(maybe, max_size=6))
def test_first_non_blank_picks_the_first_non_blank(values: list[str | None]) -> None:
    picked = first_non_blank(values)
    non_blank = [v for v in values if not is_blank(v)]
    if not non_blank:
        assert picked is None
    else:
        assert picked is non_blank[0]
        assert all(is_blank(v) for v in values[: values.index(picked)])


@given(st.lists(blank, max_size=6), st.sampled_from([" ", ", ", "-", ""]))
def test_concatenation_of_blanks_is_blank(values: list[str | None], separator: str) -> None:
    assert concat(values, separator) is None


@given(st.lists(maybe, max_size=6), st.sampled_from([" ", ", ", "/"]))
def test_concatenation_joins_the_trimmed_non_blank_values_in_order(values: list[str | None], sep: str) -> None:
    expected = [v.strip() for v in values if v is not None and v.strip()]
    assert concat(values, sep) == (sep.join(expected) if expected else None)


codes = st.text(alphabet="ABCDEFGHIJ0123456789", min_size=1, max_size=6)


@given(st.dictionaries(codes, text.filter(lambda t: t.strip() != ""), min_size=1, max_size=8), st.data())
def test_lookup_of_a_known_code_gives_its_name(table: dict[str, str], data: st.DataObject) -> None:
    code = data.draw(st.sampled_from(sorted(table)))
    padding = data.draw(st.sampled_from(["", " ", "  "]))
    assert lookup(padding + code + padding, table, "Other") == table[code]


@given(st.dictionaries(codes, text, max_size=8), codes, st.none() | st.just("Other"))
def test_lookup_of_an_unknown_code_gives_the_default_or_the_code(
    table: dict[str, str], code: str, fallback: str | None
) -> None:
    folded = {k.casefold() for k in table}
    if code.casefold() in folded:
        return
    assert lookup(code, table, fallback) == (code if fallback is None else fallback)
    assert lookup(None, table, fallback) is None  # blank stays blank


def test_date_reformatting_gives_iso_or_leaves_the_value_for_validation() -> None:
    assert reformat_date("03/11/2024", "DD/MM/YYYY") == "2024-11-03"
    assert reformat_date("11/03/2024", "MM/DD/YYYY") == "2024-11-03"
    assert reformat_date(" 3 Nov 2024 ", "D MMM YYYY") == "2024-11-03"
    assert reformat_date("31/02/2024", "DD/MM/YYYY") == "31/02/2024"
    assert reformat_date("", "DD/MM/YYYY") is None


def test_absent_input_stays_absent_and_never_blanks() -> None:
    single = compile_one({"type": "default", "value": "Unknown"}, "job.businessUnit")
    assert single({}) is ABSENT
    assert single({"job.businessUnit": None}) == "Unknown"
    assert single({"job.businessUnit": "Sales"}) == "Sales"
    multi = compile_one({"type": "first_non_blank", "fields": ["workEmail", "personalEmail"]}, "workEmail")
    assert multi({}) is ABSENT
    assert multi({"personalEmail": "me@home.example"}) == "me@home.example"
    assert multi({"workEmail": " ", "personalEmail": None}) is None


MAPPING = {**DEFAULT_MAPPING, "job_title": "job.positionTitle", "custom.business_unit": "custom.bu"}


def test_transforms_are_applied_before_validation_including_key_fields() -> None:
    transforms = {
        "email": {"type": "first_non_blank", "fields": ["workEmail", "primaryEmailAddress"]},
        "first_name": {"type": "title"},
        "custom.business_unit": {"type": "lookup", "table": {"S1": "Sales"}, "default": "Other"},
        "job_title": {"type": "concat", "fields": ["job.positionTitle", "job.level"], "separator": " - "},
    }
    clean, problems = validate_transforms(transforms, MAPPING)
    assert problems == []
    compiled = compile_mapping(MAPPING, clean)
    p = person("E1", "home@example.com", first="  ada  ", workEmail=" ", custom__bu="s1",
               job__positionTitle="Engineer", job__level="Senior")
    draft, issues = build_draft(p, compiled)
    assert issues == []
    assert draft is not None
    assert draft.email == "home@example.com"
    assert draft.values["first_name"] == "Ada"
    assert draft.values["custom.business_unit"] == "Sales"
    assert draft.values["job_title"] == "Engineer - Senior"
    p2 = person("E2", "home@example.com", workEmail="ada@work.example", custom__bu="ZZ")
    draft2, _ = build_draft(p2, compiled)
    assert draft2 is not None and draft2.email == "ada@work.example"
    assert draft2.values["custom.business_unit"] == "Other"
    # the same person without transforms: the plain mapping
    plain, _ = build_draft(p, compile_mapping(MAPPING))
    assert plain is not None and plain.email == "home@example.com" and plain.values["first_name"] == "ada"


def test_a_bad_date_after_reformatting_is_still_a_validation_warning() -> None:
    mapping = {**DEFAULT_MAPPING, "date_of_birth": "dateOfBirth"}
    compiled = compile_mapping(mapping, {"date_of_birth": {"type": "date", "format": "DD/MM/YYYY"}})
    ok, _ = build_draft(person("E1", "a@example.com", dateOfBirth="09/07/1990"), compiled)
    assert ok is not None and ok.values["date_of_birth"] == "1990-07-09"
    bad, issues = build_draft(person("E1", "a@example.com", dateOfBirth="1990.07.09"), compiled)
    assert bad is not None and "date_of_birth" not in bad.values
    assert [i.code for i in issues] == ["invalid_date"]


def test_validation_names_every_problem() -> None:
    _clean, problems = validate_transforms({
        "job_title": {"type": "eval"},
        "phone": {"type": "trim"},
        "custom.business_unit": {"type": "lookup", "table": {}},
        "first_name": {"type": "date", "format": "%d"},
        "last_name": {"type": "concat", "fields": []},
        "email": {"type": "first_non_blank", "fields": ["workEmail", "nowhere"]},
    }, MAPPING, available_source_keys={"workEmail", *MAPPING.values()}, labels={"phone": "Phone"})
    joined = " ".join(problems)
    assert "choose a transform from the list" in joined
    assert "Phone has a transform but is not mapped" in joined
    assert "lookup table needs at least one code" in joined
    assert "date layout" in joined
    assert "choose the source fields" in joined
    assert "'nowhere'" in joined
    assert len(problems) == 6


def test_a_transform_change_changes_every_fingerprint_and_its_inputs_are_in_the_basis() -> None:
    base = compile_mapping(MAPPING)
    transforms = {"email": {"type": "first_non_blank", "fields": ["workEmail", "primaryEmailAddress"]}}
    shaped = compile_mapping(MAPPING, transforms)

    def fingerprinter(compiled: object, t: object) -> Fingerprinter:
        return Fingerprinter.for_import(MAPPING, compiled, integration_id=1, blanks_clear_values=False,  # type: ignore[arg-type]
                                        schema_revision="x", transforms=t)  # type: ignore[arg-type]

    plain, with_transform = fingerprinter(base, None), fingerprinter(shaped, transforms)
    p = person("E1", "a@example.com")
    assert plain.of(plain.basis(p), "E1", "a@example.com") != with_transform.of(
        with_transform.basis(p), "E1", "a@example.com")
    assert "workEmail" in with_transform.sources
    changed = person("E1", "a@example.com", workEmail="b@example.com")
    assert with_transform.basis(p) != with_transform.basis(changed)
