"""Moves the authenticators of django-otp's TOTPDevice (plaintext `key`) to AuthenticatorDevice,
each secret encrypted under its user's data key, then drops the old table, so that no plaintext
copy stays in the database. Verified sessions name the old device and must verify again.

(Backups taken before this migration still hold the old secrets: docs/operations.md.)
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, router

from vault.datakeys import data_key_create, data_keys_destroy
from vault.envelope import encrypt_for

OLD_TABLE = "otp_totp_totpdevice"
COPIED = (
    "name",
    "confirmed",
    "key",
    "step",
    "t0",
    "digits",
    "tolerance",
    "drift",
    "last_t",
    "throttling_failure_timestamp",
    "throttling_failure_count",
    "created_at",
    "last_used_at",
)


def _user_key_id(user_model: Any, user_id: int, using: str) -> Any:
    users = user_model._base_manager.using(using)
    key_id = users.filter(pk=user_id).values_list("data_key_id", flat=True).get()
    if key_id is None:  # an account from before data keys: give it one
        new = data_key_create()
        users.filter(pk=user_id, data_key_id__isnull=True).update(data_key_id=new)
        key_id = users.filter(pk=user_id).values_list("data_key_id", flat=True).get()
        if key_id != new:
            data_keys_destroy([new])
    return key_id


def move_totp_devices(apps: Any, schema_editor: Any) -> int:
    """Returns how many devices moved (0 when there is no old table)."""
    connection = schema_editor.connection
    if not router.allow_migrate(connection.alias, "accounts") or OLD_TABLE not in connection.introspection.table_names():
        return 0
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        present = {c.name for c in connection.introspection.get_table_description(cursor, OLD_TABLE)}
        columns = ["user_id", *(c for c in COPIED if c in present)]
        cursor.execute(f"SELECT {', '.join(map(qn, columns))} FROM {qn(OLD_TABLE)}")  # noqa: S608
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    user_model = apps.get_model("accounts", "User")
    device_model = apps.get_model("accounts", "AuthenticatorDevice")
    for values in rows:
        values["key"] = encrypt_for(_user_key_id(user_model, values["user_id"], connection.alias), values["key"])
        device_model._base_manager.using(connection.alias).create(**values)
    schema_editor.execute(f"DROP TABLE {qn(OLD_TABLE)}")
    schema_editor.execute("DELETE FROM django_migrations WHERE app = %s", params=["otp_totp"])
    return len(rows)


def _forward(apps: Any, schema_editor: Any) -> None:
    move_totp_devices(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_authenticator_device")]

    operations = [migrations.RunPython(_forward, migrations.RunPython.noop)]
