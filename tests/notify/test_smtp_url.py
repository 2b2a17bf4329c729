"""HRSYNC_SMTP_URL parsing: the three supported shapes, and secrets kept out of messages."""

from __future__ import annotations

import pytest

from hrsync.notify.smtp import SmtpSecurity, SmtpUrlError, parse_smtp_url


def test_plain_url_has_no_credentials_and_no_tls() -> None:
    cfg = parse_smtp_url("smtp://mail.internal:2525")
    assert (cfg.host, cfg.port, cfg.security) == ("mail.internal", 2525, SmtpSecurity.PLAIN)
    assert cfg.username is None and cfg.password is None


def test_starttls_url_percent_decodes_credentials() -> None:
    cfg = parse_smtp_url("smtp://apikey%40acme:p%40ss%3Aw0rd%2F@smtp.example.com:587?starttls=true")
    assert cfg.security is SmtpSecurity.STARTTLS
    assert (cfg.host, cfg.port) == ("smtp.example.com", 587)
    assert cfg.username == "apikey@acme"
    assert cfg.password == "p@ss:w0rd/"


def test_smtps_url_uses_implicit_tls_and_default_port() -> None:
    cfg = parse_smtp_url("smtps://user:secret@smtp.example.com")
    assert cfg.security is SmtpSecurity.SSL
    assert cfg.port == 465
    assert (cfg.username, cfg.password) == ("user", "secret")


def test_default_ports_follow_the_security_mode() -> None:
    assert parse_smtp_url("smtp://relay").port == 25
    assert parse_smtp_url("smtp://relay?starttls=true").port == 587


def test_timeout_option_is_read() -> None:
    assert parse_smtp_url("smtp://relay:25?timeout=2.5").timeout == 2.5


@pytest.mark.parametrize(
    "url",
    [
        "http://relay:25",
        "smtp://:25",
        "smtp://relay:25?tls=yes",
        "smtps://relay:465?starttls=true",
        "smtp://relay:25?timeout=soon",
    ],
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(SmtpUrlError):
        parse_smtp_url(url)


def test_password_never_appears_in_repr_or_errors() -> None:
    cfg = parse_smtp_url("smtp://user:hunter2-secret@relay:587?starttls=true")
    assert "hunter2" not in repr(cfg)
    assert "hunter2" not in cfg.display
    with pytest.raises(SmtpUrlError) as err:
        parse_smtp_url("smtp://user:hunter2-secret@relay:notaport")
    assert "hunter2" not in str(err.value)
