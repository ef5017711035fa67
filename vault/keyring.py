"""The master keys (settings.FIELD_ENCRYPTION_KEYS, newest first). Each is expanded once per
process with HKDF into an AES-256 key and an HMAC-SHA256 key and used through django-cryptography's
`FernetBytes` with an explicitly keyed `FernetSigner` (the library's default signer would use
SECRET_KEY, tying stored data to it). Master keys wrap data keys, nothing else."""

from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.signing import BadSignature
from django_cryptography.core.signing import FernetSigner
from django_cryptography.utils.crypto import FernetBytes, InvalidToken

_HKDF_INFO = b"confidant field encryption v1"
_FINGERPRINT_INFO = b"confidant master key id v1"
DATA_KEY_BYTES = 64
DECRYPT_ERRORS = (BadSignature, InvalidToken, UnicodeDecodeError, ValueError, TypeError)


@dataclass(frozen=True)
class MasterKey:
    position: int  # 1-based place in FIELD_ENCRYPTION_KEYS (1 = newest)
    fingerprint: str  # keyed hash of the key: safe to store and to print
    cipher: FernetBytes


def cipher_of(material: bytes) -> FernetBytes:
    """The cipher of 64 bytes of key material: 32 for AES, 32 for the HMAC signer."""
    return FernetBytes(key=material[:32], signer=FernetSigner(key=material[32:]))


def _master(position: int, key: bytes) -> MasterKey:
    material = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=_HKDF_INFO).derive(key)
    fingerprint = hmac.new(key, _FINGERPRINT_INFO, hashlib.sha256).hexdigest()[:16]
    return MasterKey(position, fingerprint, cipher_of(material))


@functools.cache
def master_keys() -> tuple[MasterKey, ...]:
    """The configured master keys, newest first, derived once per process."""
    return tuple(_master(i, key) for i, key in enumerate(settings.FIELD_ENCRYPTION_KEYS, start=1))


def unwrap(wrapped: bytes, master_key_id: str = "") -> tuple[bytes, MasterKey] | None:
    """A data key's material and the master key that opened it; None if none does."""
    keyring = master_keys()
    # The recorded master key first; then every key, in case the record is stale.
    ordered = sorted(keyring, key=lambda m: m.fingerprint != master_key_id)
    for master in ordered:
        try:
            material = master.cipher.decrypt(bytes(wrapped))
        except DECRYPT_ERRORS:
            continue
        if len(material) == DATA_KEY_BYTES:
            return material, master
    return None


def wrap(material: bytes) -> tuple[bytes, str]:
    """Data key material wrapped under the newest master key, and that key's fingerprint."""
    newest = master_keys()[0]
    return newest.cipher.encrypt(material), newest.fingerprint
