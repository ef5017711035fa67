"""Blind indexes: keyed hashes of normalised values, to find a row by an encrypted value."""

from __future__ import annotations

import functools
import hashlib
import hmac
import unicodedata

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_BLIND_INDEX_INFO = b"confidant blind index v1:"


def normalize_email(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().lower()


_NORMALIZERS = {"email": normalize_email}


@functools.cache
def blind_index_key(purpose: str) -> bytes:
    info = _BLIND_INDEX_INFO + purpose.encode("ascii")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(settings.BLIND_INDEX_KEY)


def blind_index(purpose: str, value: str) -> str | None:
    """The keyed hash of a normalised value (None for an empty one): equal for the same address
    however it is cased or spaced, and useless without BLIND_INDEX_KEY."""
    normalized = _NORMALIZERS[purpose](value or "")
    if not normalized:
        return None
    return hmac.new(blind_index_key(purpose), normalized.encode("utf-8"), hashlib.sha256).hexdigest()
