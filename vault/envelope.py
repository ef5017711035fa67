"""The stored form of an encrypted value: b"\\x02" + data key id (16 bytes) + FernetBytes token.

A value that cannot be decrypted (flipped byte, destroyed or unknown key) is logged without its
content and read as UNREADABLE, so a page or a frame shows a placeholder instead of failing.
"""

from __future__ import annotations

import logging
import uuid

from django_cryptography.utils.crypto import InvalidToken

from vault.datakeys import DataKeyMissing, data_key_cipher
from vault.keyring import DECRYPT_ERRORS, master_keys

logger = logging.getLogger(__name__)

_ENVELOPE = b"\x02"
LEGACY = b"\x80"  # FernetBytes' own version byte: a token with no envelope
_HEADER_LENGTH = 1 + 16


class UnreadableText(str):
    """The value of an encrypted field that could not be decrypted."""


UNREADABLE = UnreadableText("[unreadable]")


class Ciphertext(bytes):
    """An already encrypted value (from rotation): an encrypted field stores it as it is."""


def encrypt_for(key_id: uuid.UUID, text: str) -> Ciphertext:
    return Ciphertext(_ENVELOPE + key_id.bytes + data_key_cipher(key_id).encrypt(text.encode("utf-8")))


def key_id_of(raw: bytes) -> uuid.UUID | None:
    """The data key a stored value names, or None for a value in no known format."""
    if len(raw) > _HEADER_LENGTH and raw[:1] == _ENVELOPE:
        return uuid.UUID(bytes=bytes(raw[1:_HEADER_LENGTH]))
    return None


def decrypt(raw: bytes) -> str:
    """Decrypt a stored value; raises DataKeyMissing or one of keyring.DECRYPT_ERRORS."""
    raw = bytes(raw)
    key_id = key_id_of(raw)
    if key_id is not None:
        return data_key_cipher(key_id).decrypt(raw[_HEADER_LENGTH:]).decode("utf-8")
    if raw[:1] == LEGACY:
        # Written before data keys, directly under a master key (development databases only):
        # still read; `rotate_encryption_keys --data` moves such values under data keys.
        for master in master_keys():
            try:
                return master.cipher.decrypt(raw).decode("utf-8")
            except DECRYPT_ERRORS:
                continue
    raise InvalidToken


def decrypt_or_placeholder(raw: bytes, *, label: str = "value") -> str:
    try:
        return decrypt(raw)
    except DataKeyMissing as exc:
        logger.warning("encrypted %s is unreadable: %s", label, exc)
    except DECRYPT_ERRORS:
        logger.warning("encrypted %s could not be decrypted (damaged, or under no configured key)", label)
    return UNREADABLE
