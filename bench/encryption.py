"""Encryption at rest vs plaintext: save and read the same messages through both, in one run.

    CONFIDANT_DEV_ENV=1 .venv/bin/python bench/encryption.py [--messages 10000] [--rounds 3]

Uses the configured database (PostgreSQL with DATABASE_URL, else SQLite) and scratch tables
created and dropped here: one with the project's EncryptedTextField body (django-cryptography's
AES-256-CBC + HMAC-SHA256 under a data key), one with a plain TextField, and, for reference, one
encrypted with AES-256-GCM straight from `cryptography` (what an AEAD would cost instead). Prints
the time of each and the ratios to plaintext (target for the project's field: <= 1.3).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot_site.settings")

import django  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

django.setup()

from django.db import connection, models, transaction  # noqa: E402

from vault.datakeys import data_key_create, data_keys_destroy, forget_data_keys  # noqa: E402
from vault.fields import EncryptedTextField  # noqa: E402


class PlainBenchMessage(models.Model):
    seq = models.PositiveIntegerField()
    body = models.TextField()

    class Meta:
        app_label = "privacy"
        db_table = "bench_plain_message"


class EncryptedBenchMessage(models.Model):
    """Like conversations.Message: encrypted under its conversation's data key (one here)."""

    seq = models.PositiveIntegerField()
    body = EncryptedTextField()
    key_id = None

    class Meta:
        app_label = "privacy"
        db_table = "bench_encrypted_message"

    def encryption_key_id(self) -> object:
        return EncryptedBenchMessage.key_id


class GcmReferenceField(models.BinaryField):
    """Reference only: the same values under AES-256-GCM (random 96-bit nonce), no envelope."""

    aead = AESGCM(os.urandom(32))

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        nonce = os.urandom(12)
        return super().get_db_prep_value(nonce + self.aead.encrypt(nonce, value.encode(), None), connection)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str:
        raw = bytes(value)
        return self.aead.decrypt(raw[:12], raw[12:], None).decode()


class GcmBenchMessage(models.Model):
    seq = models.PositiveIntegerField()
    body = GcmReferenceField()

    class Meta:
        app_label = "privacy"
        db_table = "bench_gcm_message"


def _bodies(n: int) -> list[str]:
    # Chat-like lengths: 20 to 400 characters.
    return [secrets.token_urlsafe(15 + (i * 37) % 285) for i in range(n)]


def _save_and_read(model: type[models.Model], bodies: list[str]) -> float:
    forget_data_keys()  # each round unwraps its data key once, as a fresh request would
    start = time.perf_counter()
    with transaction.atomic():
        model.objects.bulk_create((model(seq=i, body=b) for i, b in enumerate(bodies)), batch_size=1000)
    read = [m.body for m in model.objects.order_by("seq").iterator(chunk_size=2000)]
    elapsed = time.perf_counter() - start
    assert read == bodies, "round trip changed the text"
    model.objects.all().delete()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    bodies = _bodies(args.messages)
    with connection.schema_editor() as editor:
        editor.create_model(PlainBenchMessage)
        editor.create_model(EncryptedBenchMessage)
        editor.create_model(GcmBenchMessage)
    EncryptedBenchMessage.key_id = data_key_create()
    try:
        _save_and_read(PlainBenchMessage, bodies[:500])  # warm up: connection, caches, key derivation
        _save_and_read(EncryptedBenchMessage, bodies[:500])
        _save_and_read(GcmBenchMessage, bodies[:500])
        plain, encrypted, gcm = [], [], []
        for _ in range(args.rounds):  # interleaved, so drift in the machine hits all alike
            plain.append(_save_and_read(PlainBenchMessage, bodies))
            encrypted.append(_save_and_read(EncryptedBenchMessage, bodies))
            gcm.append(_save_and_read(GcmBenchMessage, bodies))
    finally:
        data_keys_destroy([EncryptedBenchMessage.key_id])
        with connection.schema_editor() as editor:
            editor.delete_model(PlainBenchMessage)
            editor.delete_model(EncryptedBenchMessage)
            editor.delete_model(GcmBenchMessage)
    p, e, g = statistics.median(plain), statistics.median(encrypted), statistics.median(gcm)
    print(f"database: {connection.vendor}; {args.messages} messages; median of {args.rounds} rounds")
    print(f"plaintext save+read: {p:.3f} s")
    print(f"encrypted save+read: {e:.3f} s")
    print(f"ratio encrypted/plaintext: {e / p:.2f} (target <= 1.3)")
    print(f"reference, AES-256-GCM from cryptography: {g:.3f} s, ratio {g / p:.2f}")


if __name__ == "__main__":
    main()
