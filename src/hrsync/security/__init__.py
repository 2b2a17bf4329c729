"""Secrets at rest (Fernet-encrypted HR API keys) and password hashing (argon2)."""

from hrsync.security.passwords import hash_password, verify_and_update, verify_password
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

__all__ = [
    "SecretKeyError",
    "SecretUnreadableError",
    "decrypt_secret",
    "encrypt_secret",
    "hash_password",
    "key_file_path",
    "last4",
    "load_keyring",
    "rotate_secret",
    "verify_and_update",
    "verify_password",
]
