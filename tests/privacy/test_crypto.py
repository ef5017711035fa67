"""Message bodies are encrypted at rest, under keys that are not SECRET_KEY."""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import uuid

import pytest
from django.core.exceptions import FieldError
from django.db import connection
from django.test import override_settings

from conversations import services
from conversations.models import Message
from privacy.crypto import UNREADABLE, UnreadableText, decrypt_text, encrypt_text

CANARY = "CANARY-4111-1111-1111-1111-diagnosis-zebra"


def _raw_bodies() -> list[bytes]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM conversations_message")
        return [bytes(row[0]) for row in cursor.fetchall()]


def _raw_rows_as_text() -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT t::text FROM conversations_message t")
        else:
            cursor.execute("SELECT quote(body) || seq || sender FROM conversations_message")
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.django_db
def test_canary_is_absent_from_the_message_tables_raw_bytes() -> None:
    conversation = services.conversation_start(customer=None)
    services.message_post(
        conversation_id=conversation.pk, sender="customer", body=f"my card is {CANARY}", client_id=uuid.uuid4()
    )
    raw = b"".join(_raw_bodies())
    assert raw, "the bodies were stored"
    for needle in (CANARY.encode(), CANARY.encode("utf-16-le"), base64.b64encode(CANARY.encode())[:24]):
        assert needle not in raw
    text = _raw_rows_as_text()
    assert CANARY not in text and CANARY.encode().hex() not in text.lower()
    # ...while the application reads it back.
    assert Message.objects.get(seq=2).body == f"my card is {CANARY}"


@pytest.mark.django_db(transaction=True)
def test_canary_is_absent_from_the_stored_database() -> None:
    """The whole database as it lies on disk (SQLite's file) or leaves the server (pg_dump)."""
    conversation = services.conversation_start(customer=None)
    services.message_post(conversation_id=conversation.pk, sender="customer", body=CANARY, client_id=uuid.uuid4())
    if connection.vendor == "postgresql":
        from tests.servers import test_database_url

        dump = subprocess.run(
            ["pg_dump", "--data-only", test_database_url()], capture_output=True, check=True, timeout=120
        ).stdout
    else:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(FULL)")
        with open(connection.settings_dict["NAME"], "rb") as f:
            dump = f.read()
    assert b"conversations_message" in dump or connection.vendor == "sqlite"
    assert CANARY.encode() not in dump


def test_round_trip_and_keys_independent_of_secret_key() -> None:
    token = encrypt_text("héllo wörld")
    with override_settings(SECRET_KEY="a completely different secret key " * 3):
        assert decrypt_text(token) == "héllo wörld"


def test_older_keys_still_decrypt_after_a_new_key_is_added(settings: object) -> None:
    old_token = encrypt_text("written under the old key")
    new_key = os.urandom(32)
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, *settings.FIELD_ENCRYPTION_KEYS]):
        assert decrypt_text(old_token) == "written under the old key"
        new_token = encrypt_text("written under the new key")
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]):
        assert decrypt_text(new_token) == "written under the new key"
        assert decrypt_text(old_token) is UNREADABLE


@pytest.mark.django_db
def test_tampered_ciphertext_reads_as_a_placeholder_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    conversation = services.conversation_start(customer=None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, body FROM conversations_message")
        pk, body = cursor.fetchone()
        flipped = bytearray(bytes(body))
        flipped[len(flipped) // 2] ^= 0x01
        cursor.execute("UPDATE conversations_message SET body = %s WHERE id = %s", [bytes(flipped), pk])
    with caplog.at_level(logging.WARNING, logger="privacy.crypto"):
        message = Message.objects.get(conversation=conversation)
    assert isinstance(message.body, UnreadableText)
    assert "could not be decrypted" in caplog.text and "conversations.Message.body" in caplog.text
    with pytest.raises(ValueError, match="unreadable"):
        message.save()


@pytest.mark.django_db
def test_encrypted_fields_cannot_be_filtered_by_value() -> None:
    with pytest.raises(FieldError):
        list(Message.objects.filter(body="anything"))
    assert not Message.objects.filter(body__isnull=True).exists()
