"""Personal data is encrypted at rest under per-subject data keys, themselves wrapped under
FIELD_ENCRYPTION_KEYS (never SECRET_KEY); what cannot be decrypted shows as a placeholder."""

from __future__ import annotations

import base64
import logging
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from unittest import mock

import pytest
from asgiref.sync import sync_to_async
from django.core.exceptions import FieldError
from django.db import connection, connections, transaction
from django.test import override_settings

from accounts.models import User
from conversations import services
from conversations.models import Conversation, InternalNote, Message
from tests import servers
from tests.auth import signed_in_client
from tests.privacy.scenario import full_conversation
from tests.wsclient import Socket, async_open_widget_conversation, async_visitor_session
from vault import blind, datakeys, envelope, keyring
from vault.envelope import UNREADABLE, UnreadableText
from vault.models import DataKey

CANARY = "CANARY-4111-1111-1111-1111-diagnosis-zebra"


def _forget_everything() -> None:
    """As a fresh process would start: no derived master key, no unwrapped data key."""
    keyring.master_keys.cache_clear()
    datakeys.forget_data_keys()


def _database_bytes(alias: str, tmp_path: Path) -> bytes:
    """The whole database as it leaves the server (pg_dump) or as SQLite writes it out (a backup:
    never open() the live file, which would drop this process's SQLite locks on it)."""
    conn = connections[alias]
    if conn.vendor == "postgresql":
        return subprocess.run(
            ["pg_dump", "--data-only", servers.test_database_url(alias)], capture_output=True, check=True, timeout=120
        ).stdout
    copy = tmp_path / f"{alias}.sqlite3"
    with sqlite3.connect(conn.settings_dict["NAME"]) as live, sqlite3.connect(copy) as target:
        live.backup(target)
    return copy.read_bytes()


def _forms(text: str) -> list[bytes]:
    raw = text.encode()
    return [raw, raw.lower(), text.encode("utf-16-le"), base64.b64encode(raw)[:16], raw.hex().encode()]


@pytest.mark.django_db(transaction=True)
def test_no_canary_of_a_full_conversation_reaches_either_database(client: object, tmp_path: Path) -> None:
    scenario = full_conversation("dump")
    # A failed sign-in with the customer's address leaves no plaintext address in the lockout table.
    client.post("/accounts/login/", {"username": scenario.customer.email.upper(), "password": "wrong"})
    dumps = {alias: _database_bytes(alias, tmp_path) for alias in ("default", "keys")}
    assert b"conversations_message" in dumps["default"] or connection.vendor == "sqlite"
    for value in scenario.canaries:
        for alias, dump in dumps.items():
            for form in _forms(value):
                assert form not in dump, f"{value} found in the {alias} database"
    # ...while the application reads everything back.
    _forget_everything()
    customer = User.objects.get(pk=scenario.customer.pk)
    assert (customer.first_name, customer.last_name) == (scenario.canaries[0], scenario.canaries[1])
    bodies = " ".join(Message.objects.filter(conversation=scenario.conversation).values_list("body", flat=True))
    assert scenario.canaries[4] in bodies and scenario.canaries[5] in bodies
    assert scenario.canaries[6] in InternalNote.objects.get().body


@pytest.mark.django_db
def test_each_conversation_and_each_user_has_its_own_data_key() -> None:
    first, second = full_conversation("one"), full_conversation("two")
    keys = {first.conversation.data_key_id, second.conversation.data_key_id, first.customer.data_key_id}
    keys |= {second.customer.data_key_id, first.agent.data_key_id}
    assert None not in keys and len(keys) == 5
    assert DataKey.objects.filter(id__in=keys).count() == 5
    raws = [raw_body("conversations_message", pk) for pk in first.conversation.messages.values_list("pk", flat=True)]
    assert raws and {envelope.key_id_of(raw) for raw in raws} == {first.conversation.data_key_id}


@pytest.mark.django_db
def test_secret_key_changed_between_write_and_read_leaves_everything_readable() -> None:
    scenario = full_conversation("secret")
    with override_settings(SECRET_KEY="a completely different secret key, rotated by the operator " * 2):
        _forget_everything()
        customer = User.objects.get(pk=scenario.customer.pk)
        assert customer.first_name == scenario.canaries[0] and customer.email == scenario.customer.email
        bodies = list(Message.objects.filter(conversation=scenario.conversation).values_list("body", flat=True))
        assert not any(isinstance(b, UnreadableText) for b in bodies)
        assert scenario.canaries[5] in " ".join(bodies)


@pytest.mark.django_db
def test_reading_a_200_message_transcript_unwraps_its_key_once_and_derives_nothing() -> None:
    conversation = services.conversation_start(customer=None)
    for i in range(199):
        services.message_post(
            conversation_id=conversation.pk, sender="customer", body=f"line {i}", client_id=uuid.uuid4()
        )
    _forget_everything()
    keyring.master_keys()  # the process's one derivation per master key
    with (
        mock.patch.object(datakeys, "unwrap", wraps=keyring.unwrap) as unwraps,
        mock.patch.object(keyring, "HKDF", wraps=keyring.HKDF) as master_derivations,
        mock.patch.object(blind, "HKDF", wraps=blind.HKDF) as index_derivations,
    ):
        bodies = list(Message.objects.filter(conversation=conversation).values_list("body", flat=True))
    assert len(bodies) == 200 and bodies[-1] == "line 198"
    assert unwraps.call_count == 1 and master_derivations.call_count == index_derivations.call_count == 0


def raw_body(table: str, pk: object) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT body FROM {table} WHERE id = %s", [pk])  # noqa: S608 - fixed table names
        return bytes(cursor.fetchone()[0])


def _flip_a_byte(table: str, pk: object) -> None:
    flipped = bytearray(raw_body(table, pk))
    flipped[len(flipped) // 2] ^= 0x01
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET body = %s WHERE id = %s", [bytes(flipped), pk])  # noqa: S608


@pytest.mark.django_db
def test_a_flipped_byte_reads_as_a_placeholder_is_logged_and_cannot_be_saved_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    conversation = services.conversation_start(customer=None)
    _flip_a_byte("conversations_message", Message.objects.get(conversation=conversation).pk)
    with caplog.at_level(logging.WARNING, logger="vault.envelope"):
        message = Message.objects.get(conversation=conversation)
    assert isinstance(message.body, UnreadableText)
    assert "could not be decrypted" in caplog.text and "conversations.Message.body" in caplog.text
    with pytest.raises(ValueError, match="unreadable"):
        message.save()


@pytest.mark.django_db
def test_a_flipped_byte_shows_a_placeholder_on_the_customers_and_the_agents_pages(
    customer: User, agent: User, caplog: pytest.LogCaptureFixture
) -> None:
    conversation = services.conversation_start(customer=customer)
    posted = services.message_post(
        conversation_id=conversation.pk, sender="customer", body="my secret question", client_id=uuid.uuid4()
    )
    services.message_post(conversation_id=conversation.pk, sender="customer", body="still fine", client_id=uuid.uuid4())
    services.conversation_hand_over(conversation_id=conversation.pk)
    services.conversation_claim(conversation_id=conversation.pk, agent=agent)
    _flip_a_byte("conversations_message", posted.message.pk)
    with caplog.at_level(logging.WARNING, logger="vault.envelope"):
        pages = [
            signed_in_client(customer).get(f"/me/conversations/{conversation.pk}/"),
            signed_in_client(agent).get(f"/console/conversations/{conversation.pk}/"),
        ]
    for page in pages:
        html = page.content.decode()
        assert page.status_code == 200
        assert str(UNREADABLE) in html and "still fine" in html and "my secret question" not in html
        assert "Traceback" not in html
    assert "could not be decrypted" in caplog.text


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_flipped_byte_arrives_as_a_placeholder_frame() -> None:
    session = await async_visitor_session()
    await async_open_widget_conversation(session)
    sock = Socket("/ws/chat/", session)
    assert await sock.connect()
    await sock.send({"type": "resume", "after_seq": 0})
    await sock.recv_until("message", seq=1)
    message_pk = await sync_to_async(lambda: Message.objects.get(seq=1).pk)()
    await sync_to_async(_flip_a_byte)("conversations_message", message_pk)
    await sock.send({"type": "resume", "after_seq": 0})
    frame = await sock.recv_until("message", seq=1)
    assert frame["body"] == str(UNREADABLE)
    await sock.send({"type": "message", "client_id": str(uuid.uuid4()), "body": "still talking"})
    assert (await sock.recv_until("ack"))["seq"] == 2  # the socket carries on
    await sock.close()


@pytest.mark.django_db
def test_a_destroyed_data_key_makes_only_its_subject_unreadable(caplog: pytest.LogCaptureFixture) -> None:
    shredded, kept = full_conversation("gone"), full_conversation("kept")
    datakeys.data_keys_destroy([shredded.conversation.data_key_id, shredded.customer.data_key_id])
    with caplog.at_level(logging.WARNING, logger="vault.envelope"):
        gone = list(Message.objects.filter(conversation=shredded.conversation).values_list("body", flat=True))
        customer = User.objects.get(pk=shredded.customer.pk)
    assert gone and all(body is UNREADABLE for body in gone)
    assert customer.first_name is UNREADABLE and customer.email is UNREADABLE
    assert "does not exist" in caplog.text and shredded.canaries[0] not in caplog.text
    assert all(
        not isinstance(b, UnreadableText)
        for b in Message.objects.filter(conversation=kept.conversation).values_list("body", flat=True)
    )


@pytest.mark.django_db
def test_deleting_a_conversation_or_a_user_destroys_their_data_keys(
    django_capture_on_commit_callbacks: object,
) -> None:
    scenario = full_conversation("delete")
    keys = [scenario.conversation.data_key_id, scenario.customer.data_key_id]
    with django_capture_on_commit_callbacks(execute=True):
        scenario.customer.delete()  # cascades to the conversation
    assert not Conversation.objects.filter(pk=scenario.conversation.pk).exists()
    assert not DataKey.objects.filter(id__in=keys).exists()
    assert DataKey.objects.filter(id=scenario.agent.data_key_id).exists()


@pytest.mark.django_db
def test_encrypted_fields_refuse_lookups_and_bulk_text_updates() -> None:
    services.conversation_start(customer=None)
    with pytest.raises(FieldError):
        list(Message.objects.filter(body="anything"))
    with pytest.raises(FieldError):
        list(User.objects.filter(email__iexact="someone@example.com"))
    with pytest.raises(TypeError, match="encrypted"), transaction.atomic():
        Message.objects.update(body="overwritten in plaintext?")
    assert not Message.objects.filter(body__isnull=True).exists()


def test_encrypted_fields_are_not_serialized() -> None:
    field = Message._meta.get_field("body")
    with pytest.raises(NotImplementedError):
        field.value_to_string(Message(body="x"))


@pytest.mark.django_db
def test_a_value_names_its_data_key_and_a_new_master_key_only_wraps_new_data_keys(settings: object) -> None:
    old = services.conversation_start(customer=None)
    with override_settings(FIELD_ENCRYPTION_KEYS=[b"N" * 16 + bytes(range(16)), *settings.FIELD_ENCRYPTION_KEYS]):
        new = services.conversation_start(customer=None)
        fingerprints = dict(DataKey.objects.values_list("id", "master_key_id"))
        assert fingerprints[new.data_key_id] == keyring.master_keys()[0].fingerprint
        assert fingerprints[old.data_key_id] == keyring.master_keys()[1].fingerprint
        _forget_everything()
        assert Message.objects.get(conversation=old).body.startswith("Hi!")


def test_production_refuses_to_start_without_keys_or_with_weak_ones() -> None:
    good = base64.urlsafe_b64encode(bytes(range(32))).decode()
    audit = base64.urlsafe_b64encode(bytes(range(64, 96))).decode()
    base = {
        "PATH": "/usr/bin:/bin",
        "SECRET_KEY": "s" * 10 + "ecret-key-that-is-long-enough-0123456789abcdefghij",
        "AUDIT_KEY": audit,
        "PRIVACY_CONTROLLER_NAME": "Example Bank plc",
        "PRIVACY_CONTROLLER_CONTACT": "privacy@bank.example",
    }
    weak = base64.urlsafe_b64encode(b"a" * 32).decode()
    cases = {
        "no field key": {**base, "BLIND_INDEX_KEY": good},
        "weak field key": {**base, "FIELD_ENCRYPTION_KEYS": weak, "BLIND_INDEX_KEY": good},
        "no blind index key": {**base, "FIELD_ENCRYPTION_KEYS": good},
        "short blind index key": {**base, "FIELD_ENCRYPTION_KEYS": good, "BLIND_INDEX_KEY": "c2hvcnQ="},
        "no audit key": {
            **{k: v for k, v in base.items() if k != "AUDIT_KEY"},
            "FIELD_ENCRYPTION_KEYS": good,
            "BLIND_INDEX_KEY": good,
        },
        "weak audit key": {**base, "AUDIT_KEY": weak, "FIELD_ENCRYPTION_KEYS": good, "BLIND_INDEX_KEY": good},
        "keys in the main database": {
            **base,
            "FIELD_ENCRYPTION_KEYS": good,
            "BLIND_INDEX_KEY": good,
            "DATABASE_URL": "postgres://u@db.internal:5432/confidant",
            "KEYS_DATABASE_URL": "postgres://u@db.internal:5432/confidant",
        },
    }
    for name, env in cases.items():
        run = subprocess.run(
            [sys.executable, "-c", "import django; django.setup()"],
            env={**env, "DJANGO_SETTINGS_MODULE": "chatbot_site.settings"},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=servers.ROOT,
        )
        assert run.returncode != 0 and "ImproperlyConfigured" in run.stderr, name
        assert good not in run.stderr and weak not in run.stderr and audit not in run.stderr  # keys never echoed


@pytest.mark.django_db
def test_a_value_written_before_data_keys_still_reads(settings: object) -> None:
    """Development databases hold bodies encrypted directly under a master key (no envelope)."""
    conversation = services.conversation_start(customer=None)
    legacy = keyring.master_keys()[0].cipher.encrypt(b"written by an older version")
    pk = Message.objects.get(conversation=conversation).pk
    with connection.cursor() as cursor:
        cursor.execute("UPDATE conversations_message SET body = %s WHERE id = %s", [legacy, pk])
    assert Message.objects.get(pk=pk).body == "written by an older version"
