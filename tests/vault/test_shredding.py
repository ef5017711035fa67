"""Crypto-shredding: once a customer is deleted, a backup of the main database taken before the
deletion, restored elsewhere, still holds their rows, but none of their contents decrypts."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests import servers
from tests.privacy.scenario import Scenario, full_conversation
from vault import datakeys, envelope
from vault.envelope import UNREADABLE
from vault.models import DataKey

pytestmark = pytest.mark.django_db(transaction=True)

_MESSAGES = "SELECT m.body FROM conversations_message m WHERE m.conversation_id = %s"
_NOTES = "SELECT n.body FROM conversations_internalnote n WHERE n.conversation_id = %s"
_USER = "SELECT u.first_name, u.last_name, u.email FROM accounts_user u WHERE u.id = %s"


def _backup(tmp_path: Path) -> Path:
    """What an operator's nightly backup of the main database would hold."""
    if connection.vendor == "postgresql":
        target = tmp_path / "main.dump"
        subprocess.run(["pg_dump", "-Fc", "-f", str(target), servers.test_database_url()], check=True, timeout=120)
        return target
    target = tmp_path / "main.sqlite3"
    with sqlite3.connect(connection.settings_dict["NAME"]) as live, sqlite3.connect(target) as copy:
        live.backup(copy)
    return target


@contextmanager
def _restored(backup: Path) -> Iterator[Any]:
    """A connection to the backup restored into a second database."""
    if connection.vendor != "postgresql":
        with sqlite3.connect(backup) as restored:
            yield _SqliteCursor(restored)
        return
    import psycopg

    name = f"{connection.settings_dict['NAME']}_restored"
    url = servers.postgres_url(name)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        subprocess.run(["pg_restore", "--no-owner", "-d", url, str(backup)], check=True, timeout=120)
        with psycopg.connect(url) as restored:
            yield restored.cursor()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class _SqliteCursor:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._cursor = conn.cursor()

    def execute(self, sql: str, params: list[Any]) -> None:
        self._cursor.execute(sql.replace("%s", "?"), params)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._cursor.fetchall()


def _contents(cursor: Any, scenario: Scenario) -> list[str]:
    """Every encrypted value of the scenario's customer and conversation, decrypted now."""
    datakeys.forget_data_keys()
    conversation_id = scenario.conversation.pk if connection.vendor == "postgresql" else scenario.conversation.pk.hex
    raws: list[bytes] = []
    for sql, param in ((_MESSAGES, conversation_id), (_NOTES, conversation_id), (_USER, scenario.customer.pk)):
        cursor.execute(sql, [param])
        raws += [bytes(value) for row in cursor.fetchall() for value in row]
    assert len(raws) >= 6, "the rows are in the backup"
    return [envelope.decrypt_or_placeholder(raw) for raw in raws]


def test_a_deleted_customer_is_unreadable_in_a_restored_backup_while_others_read(tmp_path: Path) -> None:
    victim, other = full_conversation("victim"), full_conversation("other")
    backup = _backup(tmp_path)
    assert b"privacy_datakey" not in backup.read_bytes()  # data keys are never in the main database

    victim.customer.delete()  # cascades to their conversations; destroys the data keys on commit
    assert not DataKey.objects.filter(id__in=[victim.customer.data_key_id, victim.conversation.data_key_id]).exists()

    with _restored(backup) as cursor:
        shredded, kept = _contents(cursor, victim), _contents(cursor, other)
    assert shredded and all(value is UNREADABLE for value in shredded)
    assert all(value is not UNREADABLE for value in kept)
    readable = " ".join(kept)
    assert all(canary in readable for canary in other.canaries[:2] + other.canaries[4:])
