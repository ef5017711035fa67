"""TOTP secrets are encrypted at rest under their user's data key (accounts.AuthenticatorDevice):
the column holds no key bytes, deleting the account shreds the secret, and accounts migration
0006 moves django-otp's plaintext TOTPDevice rows over, leaving no plaintext copy, so enrolled
users still sign in."""

from __future__ import annotations

import importlib
from binascii import unhexlify
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client

from accounts import mfa
from accounts.models import AuthenticatorDevice
from tests.auth import current_code, signed_in_client
from vault import envelope
from vault.envelope import UNREADABLE

pytestmark = pytest.mark.django_db
moving = importlib.import_module("accounts.migrations.0006_authenticator_keys_moved")
HEX_KEY = "3132333435363738393031323334353637383930"  # RFC 6238's test secret


def _raw_key(device_id: int) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM accounts_authenticatordevice WHERE id = %s", [device_id])
        return bytes(cursor.fetchone()[0])


def _verify(client: Client, code: str) -> Any:
    return client.post("/accounts/mfa/verify/?next=/console/", {"code": code, "next": "/console/"})


def test_the_column_holds_no_key_bytes_only_a_value_under_the_users_data_key(agent: Any) -> None:
    device = mfa.totp_pending_device(user=agent)
    raw = _raw_key(device.pk)
    assert device.key.encode() not in raw and device.bin_key not in raw
    agent.refresh_from_db()
    assert envelope.key_id_of(raw) == agent.data_key_id
    assert AuthenticatorDevice.objects.get(pk=device.pk).bin_key == device.bin_key


def test_deleting_the_account_shreds_the_secret(customer: Any, django_capture_on_commit_callbacks: Any) -> None:
    device = mfa.totp_pending_device(user=customer)
    raw = _raw_key(device.pk)  # as a backup taken before the deletion holds it
    assert envelope.decrypt_or_placeholder(raw, label="test") == device.key
    with django_capture_on_commit_callbacks(execute=True):
        customer.delete()
    assert envelope.decrypt_or_placeholder(raw, label="test") is UNREADABLE


def _old_table(rows: list[tuple[Any, ...]]) -> None:
    """django-otp 1.7.5's otp_totp_totpdevice, as a database migrated before 0006 holds it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE otp_totp_totpdevice (id integer PRIMARY KEY, name varchar(64) NOT NULL, "
            "confirmed boolean NOT NULL, key varchar(80) NOT NULL, step smallint NOT NULL, t0 bigint NOT NULL, "
            "digits smallint NOT NULL, tolerance smallint NOT NULL, drift smallint NOT NULL, "
            "last_t bigint NOT NULL, user_id bigint NOT NULL, throttling_failure_timestamp timestamp NULL, "
            "throttling_failure_count integer NOT NULL, created_at timestamp NULL, last_used_at timestamp NULL)"
        )
        for row in rows:
            cursor.execute(
                "INSERT INTO otp_totp_totpdevice VALUES (%s, %s, %s, %s, 30, 0, 6, 1, 0, -1, %s, NULL, 0, NULL, NULL)",
                row,
            )
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES ('otp_totp', '0001_initial', %s)",
            ["2026-01-01 00:00:00"],
        )


@pytest.mark.django_db(transaction=True)  # SQLite's schema editor runs outside a transaction
def test_the_migration_moves_enrolled_devices_encrypted_and_they_still_sign_in(agent: Any, supervisor: Any) -> None:
    other_key = "ab" * 20
    _old_table([(7, "Authenticator app", True, HEX_KEY, agent.pk), (8, "Phone", True, other_key, supervisor.pk)])
    with connection.schema_editor() as schema_editor:
        assert moving.move_totp_devices(apps, schema_editor) == 2
    assert "otp_totp_totpdevice" not in connection.introspection.table_names()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'otp_totp'")
        assert cursor.fetchone()[0] == 0
    device = AuthenticatorDevice.objects.get(user=agent)
    assert device.key == HEX_KEY and device.confirmed and device.name == "Authenticator app"
    raw = _raw_key(device.pk)
    assert HEX_KEY.encode() not in raw and unhexlify(HEX_KEY) not in raw
    for user, key in ((agent, HEX_KEY), (supervisor, other_key)):
        client = signed_in_client(user, verified=False)
        assert _verify(client, current_code(unhexlify(key))).url == "/console/", user
        assert client.get("/console/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_migration_does_nothing_without_the_old_table() -> None:
    with connection.schema_editor() as schema_editor:
        assert moving.move_totp_devices(apps, schema_editor) == 0
