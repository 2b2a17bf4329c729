"""Stored secrets are encrypted with a key kept outside the database, created safely and rotatable."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from hrsync.config import Settings
from hrsync.security.secrets import (
    SecretKeyError,
    SecretUnreadableError,
    decrypt_secret,
    encrypt_secret,
    key_file_path,
    last4,
    load_keyring,
    rotate_secret,
)

API_KEY = "ihr_live_9f8e7d6c5b4a39281706"


def _file_settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, secret_key=None)


def _env_settings(data_dir: Path, *keys: bytes) -> Settings:
    return Settings(data_dir=data_dir, secret_key=",".join(k.decode() for k in keys))


def test_key_file_is_created_once_with_0600_and_reused(tmp_path: Path) -> None:
    settings = _file_settings(tmp_path / "var")
    token = encrypt_secret(API_KEY, settings)
    path = key_file_path(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    original = path.read_bytes()

    assert decrypt_secret(token, settings) == API_KEY
    encrypt_secret("another", settings)
    assert path.read_bytes() == original
    assert [p.name for p in path.parent.iterdir()] == ["secret.key"]  # no temporary files left


def test_key_file_is_private_even_under_a_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        load_keyring(_file_settings(tmp_path))
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600


def _load_in_child(data_dir: str) -> None:
    load_keyring(Settings(data_dir=Path(data_dir), secret_key=None))


@pytest.mark.slow
def test_processes_racing_to_create_the_key_end_up_with_one_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Pool(3) as pool:
        pool.map(_load_in_child, [str(tmp_path)] * 6)
    keys = (tmp_path / "secret.key").read_text().split()
    assert len(keys) == 1
    Fernet(keys[0])  # a complete, valid key


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_a_key_file_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "secret.key"
    path.write_bytes(Fernet.generate_key())
    path.chmod(mode)
    with pytest.raises(SecretKeyError, match="chmod 600"):
        load_keyring(_file_settings(tmp_path))


def test_environment_key_wins_and_no_file_is_written(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    settings = _env_settings(tmp_path, key)
    token = encrypt_secret(API_KEY, settings)
    assert Fernet(key).decrypt(token.encode()).decode() == API_KEY
    assert not (tmp_path / "secret.key").exists()


def test_ciphertext_does_not_contain_the_secret_and_differs_each_time(tmp_path: Path) -> None:
    settings = _env_settings(tmp_path, Fernet.generate_key())
    first, second = encrypt_secret(API_KEY, settings), encrypt_secret(API_KEY, settings)
    assert first != second
    assert API_KEY not in first and API_KEY[-8:] not in first
    assert decrypt_secret(first, settings) == decrypt_secret(second, settings) == API_KEY


def test_key_rotation_reads_old_values_and_rewrites_them_under_the_new_key(tmp_path: Path) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    token = encrypt_secret(API_KEY, _env_settings(tmp_path, old))

    rotated_settings = _env_settings(tmp_path, new, old)  # newest first
    assert decrypt_secret(token, rotated_settings) == API_KEY
    rotated = rotate_secret(token, rotated_settings)
    assert Fernet(new).decrypt(rotated.encode()).decode() == API_KEY

    with pytest.raises(SecretUnreadableError):
        decrypt_secret(token, _env_settings(tmp_path, new))  # old key removed too early
    assert decrypt_secret(rotated, _env_settings(tmp_path, new)) == API_KEY


def test_a_wrong_key_fails_without_revealing_anything(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    token = encrypt_secret(API_KEY, _env_settings(tmp_path, key))
    other = Fernet.generate_key()
    with pytest.raises(SecretUnreadableError) as caught:
        decrypt_secret(token, _env_settings(tmp_path, other))
    message = str(caught.value)
    assert API_KEY not in message and token not in message and other.decode() not in message


def test_a_malformed_environment_key_is_refused_without_echoing_it(tmp_path: Path) -> None:
    bad = "not-a-fernet-key-but-still-secret"
    with pytest.raises(SecretKeyError, match="key #2 in HRSYNC_SECRET_KEY") as caught:
        load_keyring(Settings(data_dir=tmp_path, secret_key=f"{Fernet.generate_key().decode()},{bad}"))
    assert bad not in str(caught.value)


@pytest.mark.parametrize(
    ("secret", "expected"),
    [(API_KEY, "1706"), ("  abcdefghijkl  ", "ijkl"), ("short-key", ""), ("", "")],
)
def test_last4_shows_the_end_of_long_secrets_only(secret: str, expected: str) -> None:
    assert last4(secret) == expected
