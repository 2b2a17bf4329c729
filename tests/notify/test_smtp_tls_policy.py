"""SMTP credentials without TLS are refused when the settings load, unless the operator allows it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from hrsync.config import Settings, describe_settings_error

HRSYNC = Path(sys.executable).with_name("hrsync")
PASSWORD = "hunter2-very-secret"


def _hrsync(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
             "HRSYNC_DATA_DIR": str(tmp_path / "var"), **env}
    return subprocess.run([str(HRSYNC), "db", "current", "--json"], cwd=tmp_path, env=clean, capture_output=True,
                          text=True, timeout=120, check=False)


def test_credentials_on_plain_smtp_are_refused_with_one_clear_line(tmp_path: Path) -> None:
    result = _hrsync(tmp_path, HRSYNC_SMTP_URL=f"smtp://mailer:{PASSWORD}@mail.example.com:25")
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("hrsync: configuration refused: HRSYNC_SMTP_URL has credentials but no TLS")
    assert "HRSYNC_SMTP_ALLOW_PLAINTEXT_AUTH=1" in line and "starttls=true" in line
    assert PASSWORD not in result.stderr and "mailer" not in result.stderr


@pytest.mark.parametrize("url", [
    f"smtps://mailer:{PASSWORD}@mail.example.com:465",
    f"smtp://mailer:{PASSWORD}@mail.example.com:587?starttls=true",
    "smtp://127.0.0.1:1025",  # the demo's mail catcher: no credentials
    "smtp://relay.internal:25",
])
def test_tls_or_no_credentials_is_accepted(tmp_path: Path, url: str) -> None:
    result = _hrsync(tmp_path, HRSYNC_SMTP_URL=url)
    assert result.returncode == 0, result.stderr


def test_the_operator_can_accept_plaintext_credentials_explicitly(tmp_path: Path) -> None:
    result = _hrsync(tmp_path, HRSYNC_SMTP_URL=f"smtp://mailer:{PASSWORD}@127.0.0.1:25",
                     HRSYNC_SMTP_ALLOW_PLAINTEXT_AUTH="1")
    assert result.returncode == 0, result.stderr


def test_the_refusal_never_repeats_the_url_where_the_portal_loads_settings() -> None:
    """``uvicorn``/``create_app`` see the pydantic error itself: it must not carry the value either."""
    with pytest.raises(ValidationError) as caught:
        Settings(smtp_url=f"smtp://mailer:{PASSWORD}@mail.example.com")
    assert "no TLS" in str(caught.value)
    assert PASSWORD not in str(caught.value)
    assert PASSWORD not in describe_settings_error(caught.value)


_WITHOUT_AIOSMTPD = "import sys; sys.modules['aiosmtpd'] = None; "  # as if the demo extra were not installed


def test_without_the_demo_extra_the_portal_loads_and_the_catcher_says_what_to_install(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "HRSYNC_DATA_DIR": str(tmp_path / "var")}
    portal = subprocess.run([sys.executable, "-c", _WITHOUT_AIOSMTPD + "import hrsync.web.app, hrsync.cli.main"],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert portal.returncode == 0, portal.stderr

    catcher = subprocess.run(
        [sys.executable, "-c", _WITHOUT_AIOSMTPD + "from hrsync.cli.main import main; "
         "sys.argv = ['hrsync', 'outbox', 'catcher', '--port', '1']; main()"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert catcher.returncode == 2
    [line] = catcher.stderr.strip().splitlines()
    assert "the mail catcher needs aiosmtpd" in line and "'.[demo]'" in line
