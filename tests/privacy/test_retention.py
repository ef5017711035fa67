"""The retention purge deletes exactly the conversations past the cutoff and not on legal hold,
with everything that refers to them; on schedule, through a real worker and beat; surviving a
killed worker and a second run at the same time."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from accounts.models import User
from conversations import services
from conversations.models import Conversation, InternalNote, Message
from privacy import locks, retention, schedule
from privacy.models import RetentionRun
from tests import servers
from tests.factories import UserFactory
from vault.models import DataKey

NOW = timezone.now()


def _conversation(age_days: float, *, hold: bool = False, messages: int = 1, note: bool = False) -> Conversation:
    """A conversation whose last message is `age_days` old (greeting + `messages` customer lines)."""
    conversation = services.conversation_start(customer=None)
    for i in range(messages):
        services.message_post(
            conversation_id=conversation.pk, sender="customer", body=f"line {i}", client_id=uuid.uuid4()
        )
    if note:
        agent = User.objects.filter(role=User.Role.AGENT).first() or UserFactory(role=User.Role.AGENT)
        services.note_add(conversation_id=conversation.pk, author=agent, client_id=uuid.uuid4(), body="a note")
    if hold:
        supervisor = User.objects.filter(role=User.Role.SUPERVISOR).first() or UserFactory(role=User.Role.SUPERVISOR)
        services.conversation_hold(conversation_id=conversation.pk, by=supervisor, reason="litigation 2026-17")
    Conversation.objects.filter(pk=conversation.pk).update(last_message_at=NOW - dt.timedelta(days=age_days))
    conversation.refresh_from_db()
    return conversation


def _state() -> dict:
    """Everything the purge may touch, to compare before and after."""
    return {
        "conversations": set(Conversation.objects.values_list("pk", flat=True)),
        "messages": set(Message.objects.values_list("pk", "conversation_id")),
        "notes": set(InternalNote.objects.values_list("pk", "conversation_id")),
        "keys": set(DataKey.objects.values_list("id", flat=True)),
    }


def _expected_after(before: dict, gone: set) -> dict:
    gone_keys = set(Conversation.objects.filter(pk__in=gone).values_list("data_key_id", flat=True))
    return {
        "conversations": before["conversations"] - gone,
        "messages": {m for m in before["messages"] if m[1] not in gone},
        "notes": {n for n in before["notes"] if n[1] not in gone},
        "keys": before["keys"] - gone_keys,
    }


@pytest.mark.django_db
def test_expired_conversations_go_with_everything_that_refers_to_them(settings: object) -> None:
    settings.RETENTION_DAYS = 90
    old = _conversation(120, messages=3, note=True)
    held = _conversation(400, hold=True)
    edge_kept = _conversation(89.9)
    recent = _conversation(1)
    before = _state()
    expected = _expected_after(before, {old.pk})
    run = retention.purge(now=NOW)
    assert _state() == expected
    assert {held.pk, edge_kept.pk, recent.pk} <= _state()["conversations"]
    assert (run.status, run.conversations, run.messages, run.notes, run.data_keys, run.held) == ("done", 1, 4, 1, 1, 1)
    assert run.cutoff == NOW - dt.timedelta(days=90) and run.finished_at >= run.started_at
    assert Conversation.objects.get(pk=held.pk).legal_hold_reason == "litigation 2026-17"  # encrypted, still readable


@pytest.mark.django_db
@hsettings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    ages=st.lists(st.tuples(st.floats(0, 400), st.booleans(), st.integers(0, 3)), min_size=0, max_size=8),
    retention_days=st.integers(1, 365),
    batch_size=st.integers(1, 4),
)
def test_exactly_the_conversations_past_the_cutoff_and_not_held_are_gone(
    settings: object, ages: list, retention_days: int, batch_size: int
) -> None:
    settings.RETENTION_DAYS = retention_days
    with transaction.atomic():
        made = [(_conversation(age, hold=hold, messages=n), age, hold) for age, hold, n in ages]
        before = _state()
        gone = {c.pk for c, age, hold in made if age > retention_days + 1e-6 and not hold}
        # Ages within a millisecond of the cutoff are not generated: "past" is strict.
        made = [(c, age, hold) for c, age, hold in made if abs(age - retention_days) > 1e-6]
        expected = _expected_after(before, gone)
        run = retention.purge(now=NOW, batch_size=batch_size)
        assert _state() == expected
        assert run.conversations == len(gone)
        transaction.set_rollback(True)


def test_the_schedule_is_in_the_database_daily_at_three_in_the_site_time_zone(db: None, settings: object) -> None:
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name=schedule.TASK_NAME)
    assert task.task == "privacy.tasks.retention_purge" and task.enabled
    assert (task.crontab.hour, task.crontab.minute, str(task.crontab.timezone)) == ("3", "0", settings.TIME_ZONE)
    described, next_at = schedule.next_run()
    assert "0 3 * * *" in described and next_at.astimezone(task.crontab.timezone).hour == 3


@pytest.mark.django_db
def test_dry_run_reports_and_changes_nothing_and_a_real_run_is_recorded(settings: object) -> None:
    settings.RETENTION_DAYS = 30
    _conversation(45, messages=2)
    _conversation(60, hold=True)
    _conversation(5)
    before = _state()
    out = StringIO()
    call_command("purge_transcripts", "--dry-run", stdout=out)
    assert _state() == before and not RetentionRun.objects.exists()
    text = out.getvalue()
    assert "Due: 1 conversations (3 messages, 0 notes)" in text and "1 more past the cutoff on legal hold" in text
    assert "Dry run: nothing deleted." in text and "next run" in text
    out = StringIO()
    call_command("purge_transcripts", stdout=out, stderr=StringIO())
    assert "Deleted 1 conversations, 3 messages" in out.getvalue()
    assert RetentionRun.objects.get().status == RetentionRun.Status.DONE


@pytest.mark.django_db
def test_a_run_while_another_holds_the_lock_does_nothing_and_says_so(settings: object) -> None:
    settings.RETENTION_DAYS = 30
    old = _conversation(45)
    taken, release = threading.Event(), threading.Event()

    def other_process() -> None:  # its own database connection, as another worker would have
        with locks.exclusive(retention.LOCK_NAME) as held:
            assert held
            taken.set()
            release.wait(30)
        connections.close_all()

    holder = threading.Thread(target=other_process)
    holder.start()
    assert taken.wait(30)
    try:
        run = retention.purge(now=NOW)
    finally:
        release.set()
        holder.join(30)
    assert run.status == RetentionRun.Status.SKIPPED and Conversation.objects.filter(pk=old.pk).exists()
    assert retention.purge(now=NOW).conversations == 1


def test_the_privacy_notice_states_the_configured_period(client: object, settings: object, db: None) -> None:
    settings.RETENTION_DAYS = 37
    assert "37 days" in client.get("/privacy/").content.decode()


# --- real processes -------------------------------------------------------------------------
def _queue() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def faketime() -> str:
    path = shutil.which("faketime")
    if path is None:
        pytest.skip("needs libfaketime: apt-get install faketime")
    return path


@pytest.mark.django_db(transaction=True)
def test_beat_runs_the_purge_at_three_through_a_real_worker(settings: object, faketime: str) -> None:
    """Time is moved, not slept: the worker and its beat start at 02:59:55 (libfaketime) with the
    real database schedule, which last ran the day before; at 03:00 beat sends the purge."""
    from django_celery_beat.models import PeriodicTask

    assert settings.TIME_ZONE == "UTC"
    old, recent = _conversation(100), _conversation(2)
    three = (timezone.now() + dt.timedelta(days=1)).replace(hour=3, minute=0, second=0, microsecond=0)
    PeriodicTask.objects.filter(name=schedule.TASK_NAME).update(last_run_at=three - dt.timedelta(days=1, seconds=-30))
    start = (three - dt.timedelta(seconds=5)).strftime("%Y-%m-%d %H:%M:%S")
    with servers.celery_worker(beat=True, queue=_queue(), fake_time=start):
        servers.wait_for(
            lambda: RetentionRun.objects.filter(status="done").exists(), timeout=90, what="the 03:00 purge"
        )
    run = RetentionRun.objects.get()
    assert run.started_at >= three and run.cutoff >= three - dt.timedelta(days=90)
    assert not Conversation.objects.filter(pk=old.pk).exists() and Conversation.objects.filter(pk=recent.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_run_loses_nothing_and_the_next_run_finishes(settings: object) -> None:
    from privacy.tasks import retention_purge

    expired = [_conversation(100 + i, messages=1, note=i % 2 == 0) for i in range(12)]
    kept = [_conversation(3), _conversation(200, hold=True)]
    before = _state()
    expected = _expected_after(before, {c.pk for c in expired})
    queue = _queue()
    with servers.celery_worker(queue=queue) as worker:
        retention_purge.apply_async(kwargs={"batch_size": 2, "pause": 0.3}, queue=queue)
        servers.wait_for(
            lambda: RetentionRun.objects.filter(status="running", conversations__gte=2).exists(),
            timeout=90,
            what="a batch",
        )
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    interrupted = RetentionRun.objects.get()
    assert 0 < interrupted.conversations < len(expired) and interrupted.status == "running"
    assert Conversation.objects.count() > len(kept)  # halfway
    run = retention.purge()
    assert _state() == expected
    assert all(Conversation.objects.filter(pk=c.pk).exists() for c in kept)
    assert RetentionRun.objects.get(pk=interrupted.pk).status == RetentionRun.Status.INTERRUPTED
    assert interrupted.conversations + run.conversations == len(expired)


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_end_in_the_same_state_as_one() -> None:
    expired = [_conversation(100 + i) for i in range(10)]
    _conversation(1)
    before = _state()
    expected = _expected_after(before, {c.pk for c in expired})
    command = [sys.executable, "manage.py", "purge_transcripts", "--batch-size", "1", "--pause", "0.5"]
    runs = [
        subprocess.Popen(
            command,
            cwd=servers.ROOT,
            env=servers.server_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert sorted(run.returncode for run in runs) == [0, 1], outputs
    assert any("Another purge is running" in out for out in outputs)
    assert _state() == expected
    statuses = sorted(RetentionRun.objects.values_list("status", flat=True))
    assert statuses == ["done", "skipped"]


@pytest.mark.django_db
def test_a_supervisor_holds_and_releases_a_conversation_and_an_agent_cannot(supervisor: User, agent: User) -> None:
    from tests.auth import signed_in_client

    conversation = _conversation(200)
    url = f"/console/conversations/{conversation.pk}/hold/"
    assert signed_in_client(agent).post(url, {"reason": "mine"}).status_code == 404
    boss = signed_in_client(supervisor)
    assert boss.post(url, {"reason": "   "}).status_code == 302  # refused: a reason is required
    assert not Conversation.objects.get(pk=conversation.pk).legal_hold
    boss.post(url, {"reason": "Subpoena 44/2026 for Dana Lee"})
    held = Conversation.objects.get(pk=conversation.pk)
    assert held.legal_hold and held.legal_hold_by == supervisor and held.legal_hold_reason.startswith("Subpoena")
    page = boss.get(f"/console/conversations/{conversation.pk}/").content.decode()
    assert "Legal hold" in page and "Subpoena 44/2026" in page and "Release the hold" in page
    assert retention.purge().conversations == 0
    boss.post(url, {"action": "release"})
    assert not Conversation.objects.get(pk=conversation.pk).legal_hold
    assert retention.purge().conversations == 0  # a release can be undone for a week
    assert retention.purge(now=timezone.now() + retention.RELEASE_GRACE + dt.timedelta(hours=1)).conversations == 1


@pytest.mark.django_db
def test_a_message_to_a_conversation_purged_meanwhile_gets_a_clear_error(settings: object) -> None:
    settings.RETENTION_DAYS = 30
    gone = _conversation(45)
    retention.purge()
    with pytest.raises(services.ConversationError) as error:
        services.message_post(conversation_id=gone.pk, sender="customer", body="hello?", client_id=uuid.uuid4())
    assert error.value.code == "not_found"


@pytest.mark.django_db
def test_a_failed_run_is_recorded_without_data_and_the_next_run_sweeps_its_keys(
    settings: object, monkeypatch: object
) -> None:
    settings.RETENTION_DAYS = 30
    doomed = _conversation(45)
    key_id = doomed.data_key_id

    def keys_database_down(ids: object) -> int:
        raise ConnectionError("keys database unreachable")

    monkeypatch.setattr(retention, "data_keys_destroy", keys_database_down)
    with pytest.raises(ConnectionError):
        retention.purge()
    failed = RetentionRun.objects.get()
    assert (failed.status, failed.error, failed.conversations) == ("failed", "ConnectionError", 1)
    assert not Conversation.objects.filter(pk=doomed.pk).exists() and DataKey.objects.filter(id=key_id).exists()
    monkeypatch.undo()
    DataKey.objects.filter(id=key_id).update(created_at=timezone.now() - dt.timedelta(hours=2))
    assert retention.purge().data_keys == 1 and not DataKey.objects.filter(id=key_id).exists()


@pytest.mark.django_db
def test_a_batch_stops_at_its_message_budget(settings: object, monkeypatch: object) -> None:
    settings.RETENTION_DAYS = 30
    for _ in range(3):
        _conversation(45, messages=4)  # 5 messages each, with the greeting
    _conversation(45, messages=20)  # over the budget alone: a batch of its own
    monkeypatch.setattr(retention, "MAX_MESSAGES_PER_BATCH", 10)
    batches: list[int] = []
    run = retention.purge(progress=batches.append)
    assert sorted(batches) == [1, 1, 2] and run.conversations == 4 and run.messages == 36


@pytest.mark.django_db
def test_the_hold_form_refuses_garbage(supervisor: User) -> None:
    from tests.auth import signed_in_client

    conversation = _conversation(200)
    boss = signed_in_client(supervisor)
    url = f"/console/conversations/{conversation.pk}/hold/"
    assert boss.post(url, {"reason": "x" * 501}).status_code == 302
    assert boss.post(url, {"action": "\u0000garbage"}).status_code == 302  # no reason: refused
    assert not Conversation.objects.get(pk=conversation.pk).legal_hold
    for forged in ("not-a-uuid", str(uuid.uuid4()), "../../admin"):
        assert boss.post(f"/console/conversations/{forged}/hold/", {"reason": "r"}).status_code == 404
    assert boss.get(url).status_code == 405


@pytest.mark.django_db
def test_purge_command_refuses_bad_arguments() -> None:
    from django.core.management import CommandError

    for args in (("--batch-size", "0"), ("--pause", "-1")):
        with pytest.raises(CommandError):
            call_command("purge_transcripts", *args, stdout=StringIO())
