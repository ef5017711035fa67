"""Backup codes are stored as scrypt hashes (django-otp's static tokens would be plaintext)."""

from __future__ import annotations

import base64
import hashlib
import hmac

ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def normalize_backup_code(token: str) -> str:
    return "".join(ch for ch in str(token).lower() if ch.isalnum())


def code_hash(code: str, salt: bytes) -> str:
    digest = hashlib.scrypt(code.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def backup_code_matches(code: str, stored: str) -> bool:
    try:
        _, salt, _ = stored.split("$")
        expected = code_hash(code, base64.b64decode(salt))
    except ValueError:
        return False
    return hmac.compare_digest(expected, stored)
