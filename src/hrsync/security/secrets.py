"""Encryption of stored secrets (a source's API key) with Fernet, keys outside the database.

An HR system's key often has no scopes: whoever holds it administers the tenant's HR data. So the key
that encrypts it never lives next to the ciphertext: it comes from ``HRSYNC_SECRET_KEY`` (one or
more Fernet keys, comma-separated, newest first, so keys can be rotated with
:class:`~cryptography.fernet.MultiFernet`) or from ``<data_dir>/secret.key``, generated once with
0600 permissions and refused if anyone else can read it. Nothing here ever puts a secret or a key
into an exception message.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from hrsync.config import Settings, get_settings
from hrsync.security.files import private_dir

KEY_FILE_NAME = "secret.key"


class SecretKeyError(RuntimeError):
    """The encryption key is missing, malformed or too exposed to be used."""


class SecretUnreadableError(RuntimeError):
    """A stored secret does not decrypt with any configured key (e.g. the key was replaced)."""


def key_file_path(settings: Settings | None = None) -> Path:
    """Where the generated key lives when ``HRSYNC_SECRET_KEY`` is not set."""
    settings = settings or get_settings()
    return settings.data_dir / KEY_FILE_NAME


def _parse_keys(raw: str, origin: str) -> MultiFernet:
    return MultiFernet(_parse_key_list(raw, origin))


def _parse_key_list(raw: str, origin: str) -> list[Fernet]:
    parts = [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]
    if not parts:
        raise SecretKeyError(f"{origin} holds no key")
    fernets = []
    for position, part in enumerate(parts, start=1):
        try:
            fernets.append(Fernet(part.encode("ascii")))
        except (ValueError, UnicodeEncodeError):
            # Never echo the value: it is (part of) a key.
            raise SecretKeyError(
                f"key #{position} in {origin} is not a Fernet key (32 url-safe base64-encoded bytes); "
                "make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            ) from None
    return fernets


def _create_key_file(path: Path) -> None:
    """Write a new key so that the final path is never partial and never readable by others.

    The key goes to a uniquely named temporary file created with ``O_EXCL`` and mode 0600, then
    is hard-linked into place: ``link`` fails if another process won the race, in which case its
    (complete) key is used and ours is thrown away.
    """
    private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(Fernet.generate_key() + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _read_key_file(path: Path) -> str:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretKeyError(
            f"{path} is readable by other users (mode {stat.S_IMODE(mode):04o}); "
            f"restrict it with: chmod 600 {path}"
        )
    return path.read_text(encoding="ascii")


def load_keyring(settings: Settings | None = None) -> MultiFernet:
    """The keys that encrypt (first one) and decrypt (any one) stored secrets."""
    settings = settings or get_settings()
    if settings.secret_key:
        return _parse_keys(settings.secret_key, "HRSYNC_SECRET_KEY")
    path = key_file_path(settings)
    if not path.exists():
        _create_key_file(path)
    return _parse_keys(_read_key_file(path), str(path))


def keyring_source(settings: Settings | None = None) -> str:
    """Where the keys come from, for people: ``HRSYNC_SECRET_KEY`` or the key file's path."""
    settings = settings or get_settings()
    return "HRSYNC_SECRET_KEY" if settings.secret_key else str(key_file_path(settings).resolve())


def load_keys(settings: Settings | None = None) -> list[Fernet]:
    """The configured keys one by one, newest first (rotation needs to know which key reads what)."""
    settings = settings or get_settings()
    if settings.secret_key:
        return _parse_key_list(settings.secret_key, "HRSYNC_SECRET_KEY")
    path = key_file_path(settings)
    if not path.exists():
        _create_key_file(path)
    return _parse_key_list(_read_key_file(path), str(path))


def key_index(token: str, keys: list[Fernet]) -> int | None:
    """The position (0 = newest) of the first key that decrypts ``token``; ``None`` when none does."""
    try:
        raw = token.encode("ascii")
    except UnicodeEncodeError:
        return None
    for position, key in enumerate(keys):
        try:
            key.decrypt(raw)
        except InvalidToken:
            continue
        return position
    return None


def add_key_to_file(settings: Settings | None = None) -> int:
    """Put a new key in front of the key file's keys (it encrypts from now on); returns the key count.

    Refused when the keys come from ``HRSYNC_SECRET_KEY``: that value belongs to whoever sets the
    environment (a secret manager, a unit file), which this process cannot edit. The file is replaced
    atomically (a 0600 temporary file renamed over it), so a reader sees the old keys or the new ones.
    """
    settings = settings or get_settings()
    if settings.secret_key:
        raise SecretKeyError(
            "the keys come from HRSYNC_SECRET_KEY: put a new key in front of it (comma-separated) where "
            "that variable is set, restart, then run `hrsync keys rotate`"
        )
    path = key_file_path(settings)
    if not path.exists():
        _create_key_file(path)
    existing = _read_key_file(path)
    _parse_key_list(existing, str(path))  # never extend a file that is already broken
    parts = [part.strip() for part in existing.replace("\n", ",").split(",") if part.strip()]
    lines = [Fernet.generate_key().decode("ascii"), *parts]
    _replace_key_file(path, lines)
    return len(lines)


def keep_newest_key_only(path: Path) -> None:
    """Rewrite the key file with its first (newest) key alone; the caller checked nothing needs the rest."""
    existing = _read_key_file(path)
    _parse_key_list(existing, str(path))
    newest = next(part.strip() for part in existing.replace("\n", ",").split(",") if part.strip())
    _replace_key_file(path, [newest])


def _replace_key_file(path: Path, lines: list[str]) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write("\n".join(lines) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def encrypt_secret(plain: str, settings: Settings | None = None) -> str:
    """Encrypt ``plain`` with the newest key; the result is safe to store in the database."""
    return load_keyring(settings).encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt_secret(token: str, settings: Settings | None = None) -> str:
    """Decrypt a value made by :func:`encrypt_secret` with any of the configured keys."""
    try:
        return load_keyring(settings).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError):
        raise SecretUnreadableError(
            "a stored secret cannot be decrypted with the configured key(s); if HRSYNC_SECRET_KEY or "
            "the key file changed, put the old key after the new one, or re-authorize the integration"
        ) from None


def rotate_secret(token: str, settings: Settings | None = None) -> str:
    """Re-encrypt a stored value under the newest key (after adding a key in front)."""
    try:
        return load_keyring(settings).rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError):
        raise SecretUnreadableError(
            "a stored secret cannot be decrypted with the configured key(s)"
        ) from None


def last4(secret: str) -> str:
    """The last four characters, to recognise a key without revealing it.

    Secrets shorter than 12 characters give nothing away: four characters would be a third of them.
    """
    secret = secret.strip()
    return secret[-4:] if len(secret) >= 12 else ""
