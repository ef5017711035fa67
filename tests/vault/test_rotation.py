"""Master keys rotate without downtime: data keys are re-wrapped (fast), or with --data every
subject gets a new data key and its contents are re-encrypted. Interruptible and rerunnable."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from accounts.models import User
from conversations import services
from conversations.models import Conversation, InternalNote, Message
from tests import servers
from tests.factories import UserFactory
from vault import datakeys, envelope, keyring, rotation
from vault.models import DataKey, KeyRotation

pytestmark = pytest.mark.django_db(transaction=True)

KEY_A, KEY_B, KEY_C = (os.urandom(32) for _ in range(3))


def _b64(*ks: bytes) -> str:
    return ",".join(base64.urlsafe_b64encode(k).decode() for k in ks)


def _fingerprint(key: bytes) -> str:
    return keyring._master(1, key).fingerprint


def _use_keys(settings: object, *ks: bytes) -> None:
    settings.FIELD_ENCRYPTION_KEYS = list(ks)  # setting_changed resets the derived keys
    datakeys.forget_data_keys()


def _write_under_a(settings: object, conversations: int = 40, users: int = 10) -> dict[str, str]:
    """Subjects written under key A; returns every encrypted value, to compare afterwards."""
    _use_keys(settings, KEY_A)
    for i in range(users):
        UserFactory(first_name=f"First{i}", last_name=f"Last{i}", email=f"person{i}@example.com")
    for i in range(conversations):
        conversation = services.conversation_start(customer=None)
        services.message_post(
            conversation_id=conversation.pk, sender="customer", body=f"secret {i} ✓", client_id=uuid.uuid4()
        )
        if i % 4 == 0:
            agent = User.objects.filter(role=User.Role.AGENT).first() or UserFactory(role=User.Role.AGENT)
            services.note_add(conversation_id=conversation.pk, author=agent, client_id=uuid.uuid4(), body=f"note {i}")
    return _everything()


def _everything() -> dict[str, str]:
    datakeys.forget_data_keys()
    values = {f"m{pk}": body for pk, body in Message.objects.values_list("pk", "body")}
    values |= {f"n{pk}": body for pk, body in InternalNote.objects.values_list("pk", "body")}
    for pk, first, last, email in User.objects.values_list("pk", "first_name", "last_name", "email"):
        values |= {f"u{pk}f": first, f"u{pk}l": last, f"u{pk}e": email}
    return values


def _subjects() -> int:
    return Conversation.objects.count() + User.objects.count()


def _under(key: bytes) -> int:
    return DataKey.objects.filter(master_key_id=_fingerprint(key)).count()


def _rotate(*ks: bytes, args: tuple[str, ...] = ()) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "rotate_encryption_keys", *args],
        cwd=servers.ROOT,
        env=servers.server_env(FIELD_ENCRYPTION_KEYS=_b64(*ks)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _kill_when(proc: subprocess.Popen, ready: callable, what: str) -> None:
    servers.wait_for(ready, what=f"the rotation {what}", interval=0.02, process=proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


def test_rotation_killed_twice_then_rerun_leaves_everything_readable_under_the_new_key_only(settings: object) -> None:
    before = _write_under_a(settings)
    total_keys = DataKey.objects.count()
    assert total_keys == _subjects() and _under(KEY_A) == total_keys

    # 1. Killed while re-wrapping: some data keys under B, the rest still under A; all readable.
    first = _rotate(KEY_B, KEY_A, args=("--batch-size", "4", "--pause", "0.1"))
    _kill_when(first, lambda: 0 < _under(KEY_B) < total_keys, "halfway through re-wrapping")
    assert 0 < _under(KEY_B) < total_keys and _under(KEY_A) > 0
    _use_keys(settings, KEY_B, KEY_A)
    assert _everything() == before

    # 2. Killed while re-encrypting contents under new data keys.
    second = _rotate(KEY_B, KEY_A, args=("--data", "--batch-size", "4", "--pause", "0.1"))

    def rekeyed() -> int:
        run = KeyRotation.objects.filter(finished_at__isnull=True).first()
        return 0 if run is None else DataKey.objects.filter(created_at__gte=run.started_at).count()

    _kill_when(second, lambda: 0 < rekeyed() < _subjects() - 2, "halfway through re-encrypting")
    assert _under(KEY_A) == 0  # the re-wrap had finished
    assert _everything() == before

    # 3. The rerun refuses while the dead run's heartbeat is fresh, unless told to take over; then
    # it resumes the interrupted run and finishes.
    refused = _rotate(KEY_B, KEY_A, args=("--data",))
    output, _ = refused.communicate(timeout=120)
    assert refused.returncode == 1 and "--take-over" in output
    third = _rotate(KEY_B, KEY_A, args=("--data", "--take-over"))
    output, _ = third.communicate(timeout=120)
    assert third.returncode == 0, output
    assert f"#2 {_fingerprint(KEY_A)}  wraps 0 data keys  (decrypts nothing: safe to remove)" in output
    run = KeyRotation.objects.get()
    assert run.finished_at is not None and "Resuming the re-keying run started" in output

    # Key A removed from the configuration: every record still reads.
    _use_keys(settings, KEY_B)
    assert _everything() == before
    assert _under(KEY_A) == 0 and _under(KEY_B) == DataKey.objects.count() == _subjects()
    assert DataKey.objects.exclude(rotation=run).count() == 0  # every subject re-keyed by the run, old keys gone
    for model in (Message, InternalNote):
        for owner_key, raw_id in model.objects.values_list("conversation__data_key_id", "pk"):
            assert envelope.key_id_of(_raw(model, raw_id)) == owner_key


def _raw(model: type, pk: int) -> bytes:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT body FROM {model._meta.db_table} WHERE id = %s", [pk])  # noqa: S608
        return bytes(cursor.fetchone()[0])


def test_rewrap_only_touches_data_keys_and_reports_keys_that_decrypt_nothing(settings: object) -> None:
    before = _write_under_a(settings, conversations=6, users=2)
    raw_before = {pk: _raw(Message, pk) for pk in Message.objects.values_list("pk", flat=True)}
    _use_keys(settings, KEY_B, KEY_A, KEY_C)
    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out, stderr=StringIO())
    report = out.getvalue()
    assert f"Re-wrapped {_subjects()} data keys" in report
    assert f"#2 {_fingerprint(KEY_A)}  wraps 0 data keys  (decrypts nothing: safe to remove)" in report
    assert f"#3 {_fingerprint(KEY_C)}  wraps 0 data keys  (decrypts nothing: safe to remove)" in report
    assert {pk: _raw(Message, pk) for pk in raw_before} == raw_before  # contents untouched
    _use_keys(settings, KEY_B)
    assert _everything() == before


def test_data_keys_under_a_missing_master_key_are_reported_and_never_rekeyed_away(settings: object) -> None:
    before = _write_under_a(settings, conversations=3, users=1)
    _use_keys(settings, KEY_B)  # A dropped too early: its data keys cannot be opened
    out = StringIO()
    with pytest.raises(CommandError, match="cannot be read until the key"):
        call_command("rotate_encryption_keys", "--status", stdout=out)
    assert f"{_subjects()} data keys are wrapped under a key that is not configured" in out.getvalue()
    for args in ((), ("--data",)):
        with pytest.raises(CommandError, match="wrapped under no configured key"):
            call_command("rotate_encryption_keys", *args, stdout=StringIO(), stderr=StringIO())
    assert _under(KEY_A) == _subjects() and not KeyRotation.objects.exists()
    _use_keys(settings, KEY_A)  # putting A back recovers everything
    assert _everything() == before


def test_a_second_data_run_is_refused_while_one_is_running(settings: object) -> None:
    """The first run is held at a known point, between two of its batches, while a second is
    started: no race between two processes' timings."""
    before = _write_under_a(settings, conversations=12, users=2)
    _use_keys(settings, KEY_B, KEY_A)
    first, _ = rotation.rotation_run()
    refusals: list[str] = []

    def second_run_between_batches(done: int) -> None:
        if refusals:
            return
        assert KeyRotation.objects.filter(finished_at__isnull=True, heartbeat_at__isnull=False).exists()
        with pytest.raises(CommandError, match="another rotate_encryption_keys --data is running") as refused:
            call_command("rotate_encryption_keys", "--data", stdout=StringIO(), stderr=StringIO())
        refusals.append(str(refused.value))

    result = rotation.subjects_rekey(first, batch_size=1, progress=second_run_between_batches)
    rotation.rotation_finish(first, result)  # the refused run took nothing from the first: it finishes
    assert len(refusals) == 1 and result.subjects == _subjects()
    assert KeyRotation.objects.get() == first and DataKey.objects.exclude(rotation=first).count() == 0
    _use_keys(settings, KEY_B)
    assert _everything() == before


def test_an_instance_loaded_before_a_rekeying_saves_under_the_new_key(settings: object) -> None:
    before = _write_under_a(settings, conversations=1, users=2)
    stale = User.objects.order_by("pk").first()
    doomed = User.objects.order_by("pk").last()
    _use_keys(settings, KEY_A)
    run, _ = rotation.rotation_run()
    rotation.rotation_finish(run, rotation.subjects_rekey(run))
    stale.first_name = "Renamed"
    stale.save(update_fields=["first_name"])
    stale.last_name = "Whole save"
    stale.save()
    datakeys.forget_data_keys()
    fresh = User.objects.get(pk=stale.pk)
    assert (fresh.first_name, fresh.last_name, fresh.email) == ("Renamed", "Whole save", before[f"u{stale.pk}e"])
    assert DataKey.objects.get(id=fresh.data_key_id).rotation == run
    doomed.delete()  # a stale instance: its current key, not the old one it remembers, is destroyed
    assert DataKey.objects.count() == _subjects()


def test_orphaned_data_keys_are_collected_and_referenced_ones_kept(settings: object) -> None:
    _write_under_a(settings, conversations=3, users=1)
    orphan = datakeys.data_key_create()
    assert rotation.data_keys_collect_orphans() == 0  # too young: its subject may be on its way
    DataKey.objects.filter(id=orphan).update(
        created_at=DataKey.objects.get(id=orphan).created_at - rotation.ORPHAN_GRACE * 2
    )
    DataKey.objects.exclude(id=orphan).update(created_at=DataKey.objects.get(id=orphan).created_at)
    assert rotation.data_keys_collect_orphans() == 1
    assert not DataKey.objects.filter(id=orphan).exists() and DataKey.objects.count() == _subjects()
    assert DataKey.objects.values("master_key_id").annotate(n=Count("id")).count() == 1


def test_a_subject_whose_key_this_process_cannot_open_is_left_alone(settings: object) -> None:
    """A long --data run started with older settings than the web processes: subjects created
    meanwhile under a master key the run does not have keep their key and their values."""
    before = _write_under_a(settings, conversations=2, users=1)
    _use_keys(settings, KEY_A)
    run, _ = rotation.rotation_run()
    _use_keys(settings, KEY_B, KEY_A)  # the web processes' newer settings
    newcomer = UserFactory(first_name="Joined during the run", email="late@example.com")
    assert DataKey.objects.get(id=newcomer.data_key_id).master_key_id == _fingerprint(KEY_B)
    _use_keys(settings, KEY_A)  # back to the run's settings
    result = rotation.subjects_rekey(run)
    rotation.rotation_finish(run, result)
    assert result.subjects_unopenable == 1 and result.unreadable_values == 0
    _use_keys(settings, KEY_B, KEY_A)
    assert User.objects.get(pk=newcomer.pk).first_name == "Joined during the run"
    after = _everything()
    assert {key: after[key] for key in before} == before


def test_only_one_unfinished_run_can_exist_even_when_two_start_at_once(settings: object) -> None:
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    run, _ = rotation.rotation_run()
    with pytest.raises(IntegrityError), transaction.atomic(using="keys"):
        KeyRotation.objects.create(started_at=timezone.now(), holder="racer")
    with pytest.raises(rotation.RotationBusy):
        rotation.rotation_run()
    rotation.rotation_finish(run, rotation.RekeyResult())
    assert rotation.rotation_run()[1] is False  # a finished run no longer blocks a new one


def test_values_from_before_data_keys_keep_their_master_key_until_data_rotation(settings: object) -> None:
    from django.db import connection

    _write_under_a(settings, conversations=1, users=0)
    pk = Message.objects.values_list("pk", flat=True).first()
    with connection.cursor() as cursor:
        legacy = keyring.master_keys()[0].cipher.encrypt(b"an old body")
        cursor.execute("UPDATE conversations_message SET body = %s WHERE id = %s", [legacy, pk])
    _use_keys(settings, KEY_B, KEY_A)
    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out, stderr=StringIO())
    assert "may hold older values: run --data first" in out.getvalue() and "safe to remove" not in out.getvalue()
    out = StringIO()
    call_command("rotate_encryption_keys", "--data", stdout=out, stderr=StringIO())
    assert "decrypts nothing: safe to remove" in out.getvalue()
    _use_keys(settings, KEY_B)
    assert Message.objects.get(pk=pk).body == "an old body"


def test_rotation_refuses_bad_arguments() -> None:
    for args in (("--batch-size", "0"), ("--pause", "-1"), ("--pause", "3600")):
        with pytest.raises(CommandError):
            call_command("rotate_encryption_keys", *args, stdout=StringIO(), stderr=StringIO())
