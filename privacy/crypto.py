"""Encryption at rest for personal data, on django-cryptography's primitives.

Each configured key (settings.FIELD_ENCRYPTION_KEYS, newest first) is expanded once per process
with HKDF into an AES-256 key and an HMAC-SHA256 key, and used through django-cryptography's
`FernetBytes` with an explicitly keyed `FernetSigner`: the library's default signer would use
SECRET_KEY, tying stored data to it. Values are UTF-8 text, never pickles.

Encryption uses the newest key; decryption tries each key in turn. A value no key opens is logged
(without its content) and read as UNREADABLE, so a page or frame shows a placeholder instead of
failing.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.signing import BadSignature
from django.db import models
from django_cryptography.core.signing import FernetSigner
from django_cryptography.utils.crypto import FernetBytes, InvalidToken

logger = logging.getLogger(__name__)

_HKDF_INFO = b"confidant field encryption v1"


class UnreadableText(str):
    """The value of an encrypted field that no configured key could decrypt."""


UNREADABLE = UnreadableText("[unreadable]")


def _cipher_for(master_key: bytes) -> FernetBytes:
    material = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=_HKDF_INFO).derive(master_key)
    return FernetBytes(key=material[:32], signer=FernetSigner(key=material[32:]))


@functools.cache
def _keyring() -> tuple[FernetBytes, ...]:
    return tuple(_cipher_for(key) for key in settings.FIELD_ENCRYPTION_KEYS)


def reset_keyring_on_change(*, setting: str, **kwargs: Any) -> None:
    if setting == "FIELD_ENCRYPTION_KEYS":
        _keyring.cache_clear()


def encrypt_text(value: str) -> bytes:
    return _keyring()[0].encrypt(value.encode("utf-8"))


def decrypt_text(token: bytes, *, label: str = "value") -> str:
    for cipher in _keyring():
        try:
            return cipher.decrypt(token).decode("utf-8")
        except (BadSignature, InvalidToken, UnicodeDecodeError, ValueError):
            continue
    logger.warning("encrypted %s could not be decrypted with any configured key", label)
    return UNREADABLE


class EncryptedTextField(models.BinaryField):
    """Text stored encrypted. Supports only `isnull` lookups: filter on plaintext metadata."""

    description = "Encrypted text"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def get_lookup(self, lookup_name: str) -> Any:
        return super().get_lookup(lookup_name) if lookup_name == "isnull" else None

    def get_transform(self, lookup_name: str) -> Any:
        return None

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None:
            return None
        if isinstance(value, UnreadableText):
            raise ValueError("refusing to overwrite an unreadable value with its placeholder")
        return super().get_db_prep_value(encrypt_text(str(value)), connection, prepared)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        if value is None:
            return None
        return decrypt_text(bytes(value), label=f"{self.model._meta.label}.{self.name}")

    def to_python(self, value: Any) -> Any:
        return value

    def value_to_string(self, obj: models.Model) -> str:
        # Serialization (dumpdata) must not write plaintext out.
        raise NotImplementedError("encrypted fields are not serialized")
