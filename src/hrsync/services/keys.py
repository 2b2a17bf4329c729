"""Key rotation for stored secrets: which key reads each one, and re-encryption under the newest key.

The keyring (``HRSYNC_SECRET_KEY`` or ``<data_dir>/secret.key``, newest key first) encrypts every
stored secret. Today those are the integrations' secrets, their API keys (``integration.secret_encrypted``);
:data:`ENCRYPTED_COLUMNS` lists them, so a new encrypted column is added there once and rotation,
status and retirement all cover it.

Rotation works in batches of rows, each batch in its own transaction, and writes a row only if it
still holds the ciphertext that was read (compare-and-set), so an administrator re-authorizing an
integration while the rotation runs is never overwritten with the old key. A value the newest key
already reads is left alone, so running the command again changes nothing. Nothing here puts a
secret, a ciphertext or a key into a result or a message.

The old ciphertexts leave the database's files too (:mod:`hrsync.store.scrub`): a rotation cuts
SQLite's write-ahead log once it has re-encrypted something; a retirement first rewrites the
database (SQLite ``VACUUM``, PostgreSQL ``VACUUM FULL`` of the tables holding encrypted columns), so
nothing a leaked retired key could read is left in a free page, a dead tuple or the log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select, update
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from hrsync.config import Settings, get_settings
from hrsync.security.secrets import (
    SecretKeyError,
    add_key_to_file,
    keep_newest_key_only,
    key_file_path,
    key_index,
    keyring_source,
    load_keys,
)
from hrsync.store.models import Integration
from hrsync.store.scrub import erase_removed

#: Every column holding a value encrypted with the keyring: (label for people, primary key, column).
ENCRYPTED_COLUMNS: tuple[tuple[str, InstrumentedAttribute[int], InstrumentedAttribute[Any]], ...] = (
    ("integration.secret_encrypted", Integration.id, Integration.secret_encrypted),
)

DEFAULT_BATCH_SIZE = 500


@dataclass
class KeyReport:
    """What the keyring reads: counts only, never a value."""

    source: str
    keys: int
    #: Secrets each key (0 = newest) is the first to decrypt.
    per_key: list[int] = field(default_factory=list)
    #: Secrets no configured key decrypts (a key was lost or replaced): they need re-authorizing.
    unreadable: int = 0
    #: Filled by a rotation: re-encrypted now, already under the newest key, changed by someone else meanwhile.
    rotated: int = 0
    already_current: int = 0
    changed_meanwhile: int = 0

    @property
    def total(self) -> int:
        return sum(self.per_key) + self.unreadable

    @property
    def old_keys_needed(self) -> int:
        """Secrets that only an older key can read."""
        return sum(self.per_key[1:])

    @property
    def old_keys_removable(self) -> bool:
        """True when every readable secret is under the newest key (and there is an old key to remove).

        Unreadable secrets do not keep an old key: no configured key reads them anyway.
        """
        return self.keys > 1 and self.old_keys_needed == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "keys": self.keys,
            "secrets": self.total,
            "per_key": self.per_key,
            "unreadable": self.unreadable,
            "rotated": self.rotated,
            "already_current": self.already_current,
            "changed_meanwhile": self.changed_meanwhile,
            "old_keys_needed": self.old_keys_needed,
            "old_keys_removable": self.old_keys_removable,
        }


def _batches(
    factory: sessionmaker[Session], key: InstrumentedAttribute[int], column: InstrumentedAttribute[Any], size: int
) -> Any:
    """(id, ciphertext) rows in primary-key order, one short read transaction per batch."""
    after = 0
    while True:
        with factory() as session:
            rows = session.execute(
                select(key, column).where(column.is_not(None), key > after).order_by(key).limit(size)
            ).all()
        if not rows:
            return
        yield [(int(row[0]), str(row[1])) for row in rows]
        after = int(rows[-1][0])


def key_status(factory: sessionmaker[Session], settings: Settings | None = None,
               batch_size: int = DEFAULT_BATCH_SIZE) -> KeyReport:
    """Which key reads each stored secret; changes nothing."""
    settings = settings or get_settings()
    keys = load_keys(settings)
    report = KeyReport(source=keyring_source(settings), keys=len(keys), per_key=[0] * len(keys))
    for _label, key, column in ENCRYPTED_COLUMNS:
        for batch in _batches(factory, key, column, batch_size):
            for _row_id, token in batch:
                position = key_index(token, keys)
                if position is None:
                    report.unreadable += 1
                else:
                    report.per_key[position] += 1
    return report


def _reencrypt(token: str, keys: list[Fernet], position: int) -> str:
    plain = keys[position].decrypt(token.encode("ascii"))
    return keys[0].encrypt(plain).decode("ascii")


def rotate_keys(factory: sessionmaker[Session], settings: Settings | None = None,
                batch_size: int = DEFAULT_BATCH_SIZE) -> KeyReport:
    """Re-encrypt every stored secret that an older key reads under the newest key, batch by batch.

    Returns the state after the rotation (``per_key``, ``old_keys_removable``) and what it did.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    settings = settings or get_settings()
    keys = load_keys(settings)
    report = KeyReport(source=keyring_source(settings), keys=len(keys), per_key=[0] * len(keys))
    for _label, key, column in ENCRYPTED_COLUMNS:
        table = column.class_
        for batch in _batches(factory, key, column, batch_size):
            with factory() as session, session.begin():
                for row_id, token in batch:
                    position = key_index(token, keys)
                    if position is None:
                        report.unreadable += 1
                        continue
                    if position == 0:
                        report.already_current += 1
                        report.per_key[0] += 1
                        continue
                    try:
                        fresh = _reencrypt(token, keys, position)
                    except InvalidToken:  # pragma: no cover - key_index just read it with that key
                        report.unreadable += 1
                        continue
                    written = session.execute(
                        update(table).where(key == row_id, column == token).values({column.key: fresh})
                        .execution_options(synchronize_session=False)
                    )
                    if getattr(written, "rowcount", 0) == 1:
                        report.rotated += 1
                        report.per_key[0] += 1
                    else:
                        report.changed_meanwhile += 1
    if report.rotated:
        erase_removed(factory.kw["bind"])
    if report.changed_meanwhile:
        # Someone wrote those rows during the rotation (with the newest key, since encryption always
        # uses it, or cleared them): count what they hold now rather than guess.
        after = key_status(factory, settings, batch_size)
        report.per_key, report.unreadable = after.per_key, after.unreadable
    return report


def add_key(settings: Settings | None = None) -> int:
    """Put a new key in front of the key file; returns how many keys it now holds."""
    return add_key_to_file(settings)


def retire_old_keys(factory: sessionmaker[Session], settings: Settings | None = None) -> KeyReport:
    """Drop every key but the newest from the key file, only if no stored secret still needs one."""
    settings = settings or get_settings()
    if settings.secret_key:
        raise SecretKeyError(
            "the keys come from HRSYNC_SECRET_KEY: remove the old keys where that variable is set"
        )
    report = key_status(factory, settings)
    if report.keys < 2:
        return report
    if report.old_keys_needed:
        raise SecretKeyError(
            f"{report.old_keys_needed} stored secret(s) are only readable with an old key: "
            "run `hrsync keys rotate` first"
        )
    erase_removed(factory.kw["bind"], rewrite=True, tables=encrypted_tables())
    keep_newest_key_only(key_file_path(settings))
    return key_status(factory, settings)


def encrypted_tables() -> list[str]:
    """The tables holding a column of :data:`ENCRYPTED_COLUMNS`."""
    return sorted({column.class_.__tablename__ for _label, _key, column in ENCRYPTED_COLUMNS})
