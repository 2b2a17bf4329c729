"""The tenant subdomain as people type it: the article's URL, the host, or the bare label, normalised to the
bare lower-case tenant; any other host refused at once with a message saying what to type."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hrsync.sources.intellihr import validate_subdomain
from hrsync.sources.intellihr.subdomain import preview

LABELS = st.from_regex(r"\A[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
SPACE = st.text(alphabet=" \t\n\r\u00a0", max_size=3)


@st.composite
def any_case(draw: st.DrawFn, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if flip else c for c, flip in zip(text, flips, strict=True))


@st.composite
def typed_forms(draw: st.DrawFn, label: str) -> str:
    """``label`` as someone might type or paste it: bare, as the host, or as the article's URL."""
    host = f"{label}.intellihr.net"
    form = draw(st.sampled_from([
        label, host, f"{host}/", f"https://{host}", f"https://{host}/", f"http://{host}", f"http://{host}/",
    ]))
    return draw(SPACE) + draw(any_case(form)) + draw(SPACE)


@given(st.data())
def test_any_valid_label_typed_in_any_accepted_form_normalises_to_itself(data: st.DataObject) -> None:
    label = data.draw(LABELS, label="label")
    typed = data.draw(typed_forms(label), label="typed")
    assert validate_subdomain(typed) == label
    shown = preview(typed)
    assert shown.ok and shown.subdomain == label and shown.url == f"https://{label}.intellihr.net"


OTHER_DOMAINS = st.sampled_from(["example.com", "evil.test", "intellihr.com", "intellihr.net.evil.test",
                                 "intelli-hr.net", "xintellihr.net", "co", "net"])


@st.composite
def hostile_forms(draw: st.DrawFn) -> str:
    """Something naming a host other than <one label>.intellihr.net, or carrying more than an address."""
    label = draw(LABELS)
    host = f"{label}.intellihr.net"
    kind = draw(st.sampled_from(["other-host", "suffixed", "ip", "port", "credentials", "path", "query",
                                 "fragment", "scheme", "nested"]))
    if kind == "other-host":
        target = f"{label}.{draw(OTHER_DOMAINS)}"
    elif kind == "suffixed":
        target = f"{host}.{draw(LABELS)}.{draw(st.sampled_from(['test', 'com', 'net']))}"
    elif kind == "ip":
        ip = draw(st.ip_addresses())
        target = f"[{ip}]" if ip.version == 6 and draw(st.booleans()) else str(ip)
    elif kind == "port":
        target = f"{host}:{draw(st.integers(0, 65535))}"
    elif kind == "credentials":
        user = draw(st.from_regex(r"\A[a-z0-9]{1,8}\Z"))
        target = f"{user}:{draw(st.from_regex(r'[a-z0-9]{1,8}', fullmatch=True))}@{host}" if draw(
            st.booleans()) else f"{user}@{host}"
    elif kind == "path":
        target = f"{host}/{draw(st.from_regex(r'[a-z0-9/._-]{1,20}', fullmatch=True))}"
    elif kind == "query":
        target = f"{host}{draw(st.sampled_from(['', '/']))}?{draw(st.from_regex(r'[a-z0-9=&]{0,12}', fullmatch=True))}"
    elif kind == "fragment":
        target = f"{host}#{draw(st.from_regex(r'[a-z0-9]{0,8}', fullmatch=True))}"
    elif kind == "scheme":
        return f"{draw(st.sampled_from(['ftp', 'file', 'javascript', 'ws']))}://{host}"
    else:
        target = f"{draw(LABELS)}.{host}"
    scheme = draw(st.sampled_from(["", "https://", "http://"]))
    return draw(any_case(scheme + target))


@given(hostile_forms())
def test_generated_hostile_forms_are_refused_with_one_line_saying_what_to_type(typed: str) -> None:
    with pytest.raises(ValueError) as refused:
        validate_subdomain(typed)
    message = str(refused.value)
    assert "\n" not in message
    assert "your-company" in message
    shown = preview(typed)
    assert not shown.ok and shown.subdomain is None and shown.url == "" and shown.reason == message


@pytest.mark.parametrize(
    "typed",
    ["your-company", "your-company.intellihr.net", "https://your-company.intelliHR.net/",
     "https://your-company.intelliHR.net", "http://your-company.intellihr.net/",
     "  HTTPS://YOUR-COMPANY.INTELLIHR.NET/ ",
     "\tYour-Company\n"],
)
def test_the_articles_forms_become_the_bare_tenant(typed: str) -> None:
    assert validate_subdomain(typed) == "your-company"


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("evil.example.com", "is not an intelliHR address"),
        ("your-company.intellihr.net.evil.test", "is not an intelliHR address"),
        ("https://demo.intellihr.net.intellihr.net", "one name before .intellihr.net"),
        ("127.0.0.1", "is an IP address"),
        ("https://[::1]/", "is an IP address"),
        ("your-company.intellihr.net:8443", "has a port"),
        ("https://your-company.intellihr.net:443/", "has a port"),
        ("user:pass@your-company.intellihr.net", "user name or password"),
        ("https://user@your-company.intellihr.net", "user name or password"),
        ("https://your-company.intellihr.net/people", "has a path"),
        ("your-company.intellihr.net/?tenant=x", "has a query"),
        ("ftp://your-company.intellihr.net", "not an intelliHR web address"),
        ("//your-company.intellihr.net", "not an intelliHR address"),
        ("https://your-company", "not an intelliHR address"),
        ("\u212acme", "characters an intelliHR address cannot have"),  # Kelvin sign lower-cases to "k"
        ("", "empty"),
        ("   ", "empty"),
        ("https://.intellihr.net", "empty"),
        ("-acme", "hyphen"),
        ("acme-", "hyphen"),
        ("ac me", "letters a-z, digits and hyphens"),
        ("acmé", "characters an intelliHR address cannot have"),
        ("acme_au", "letters a-z, digits and hyphens"),
        ("x" * 64, "at most 63"),
    ],
)
def test_anything_else_is_refused_with_a_one_line_message(typed: str, says: str) -> None:
    with pytest.raises(ValueError, match=says) as refused:
        validate_subdomain(typed)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("acme", "acme"), ("ACME", "acme"), ("  acme-au  ", "acme-au"), ("a", "a"), ("x" * 63, "x" * 63),
     ("9to5", "9to5")],
)
def test_valid_subdomains_are_lower_cased(typed: str, expected: str) -> None:
    assert validate_subdomain(typed) == expected


def test_credentials_typed_into_the_address_are_never_echoed() -> None:
    for typed in ("user:s3cret@acme.intellihr.net", "https://user:s3cret@acme.intellihr.net/",
                  "ftp://user:s3cret@acme.intellihr.net", "https://user:s3cret@evil.test:99/x"):
        with pytest.raises(ValueError) as refused:
            validate_subdomain(typed)
        assert "s3cret" not in str(refused.value)
        assert "s3cret" not in (preview(typed).reason or "")


def test_an_empty_field_previews_the_example_address_without_a_reason() -> None:
    shown = preview("  ")
    assert (shown.ok, shown.url, shown.reason) == (False, "https://your-company.intellihr.net", None)
