"""The trail itself: chained, append-only, verifiable after tampering, pruning and concurrent
writers."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from audit import services
from audit.actions import Action, Outcome
from audit.context import client
from audit.models import AppendOnly, Checkpoint, Entry
from audit.selectors import trail_verify
from tests import servers

pytestmark = pytest.mark.django_db


def _some(n: int) -> list[Entry]:
    return [services.record(Action.TRANSCRIPT_OPENED, obj=("conversation", f"c{i}")) for i in range(n)]


def _verify() -> tuple[int, str]:
    """verify_audit_trail's exit status and output."""
    out, err = [], []
    try:
        call_command("verify_audit_trail", stdout=_Sink(out), stderr=_Sink(err))
    except SystemExit as exc:
        return int(exc.code or 0), "".join(err)
    return 0, "".join(out)


class _Sink:
    def __init__(self, into: list[str]) -> None:
        self.into = into

    def write(self, text: str) -> None:
        self.into.append(text)

    def flush(self) -> None:
        pass


def _tamper(sql: str, params: list[object]) -> None:
    """Change rows the way someone with the database's credentials could (past the trigger)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")  # triggers off
        cursor.execute(sql, params)


def test_entries_chain_and_verify() -> None:
    entries = _some(5)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_mac == "0" * 64
    assert all(b.prev_mac == a.mac for a, b in zip(entries, entries[1:], strict=False))
    status, output = _verify()
    assert status == 0 and "5 entries" in output and f"head 5:{entries[-1].mac}" in output


def test_an_entry_records_who_what_where_and_the_outcome(customer: object, agent: object) -> None:
    with client("203.0.113.9"):
        entry = services.record(Action.CONVERSATION_CLAIMED, actor=agent, obj=("conversation", "abc"))
    stored = Entry.objects.get(pk=entry.pk)
    assert (stored.actor_id, stored.actor_role, stored.client_address) == (agent.pk, "agent", "203.0.113.9")
    assert (stored.object_type, stored.object_id, stored.outcome) == ("conversation", "abc", "ok")
    denied = services.record(Action.TRANSCRIPT_OPENED, actor=customer, obj=customer, outcome=Outcome.DENIED)
    assert (denied.object_type, denied.object_id, denied.client_address) == ("user", str(customer.pk), "")


def test_unknown_actions_and_rich_details_are_refused() -> None:
    with pytest.raises(ValueError):
        services.record("transcript.peeked")
    with pytest.raises(TypeError):
        services.record(Action.TRANSCRIPT_EXPORTED, details={"body": ["a", "list"]})
    with pytest.raises(ValueError):
        services.record(Action.TRANSCRIPT_EXPORTED, details={"text": "x" * 500})
    assert not Entry.objects.exists()


def test_the_orm_refuses_to_change_or_delete_entries() -> None:
    entry = _some(1)[0]
    entry.outcome = "denied"
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    with pytest.raises(AppendOnly):
        Entry.objects.filter(pk=entry.pk).update(outcome="denied")
    with pytest.raises(AppendOnly):
        Entry.objects.all().delete()
    assert _verify()[0] == 0


def test_postgresql_refuses_to_change_or_delete_entries(requires_postgres: None) -> None:
    from django.db.utils import ProgrammingError

    entry = _some(1)[0]
    for sql in ("UPDATE audit_entry SET outcome = 'denied' WHERE id = %s", "DELETE FROM audit_entry WHERE id = %s"):
        with pytest.raises(ProgrammingError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, [entry.pk])
    assert Entry.objects.get(pk=entry.pk).outcome == "ok"


def test_an_edited_entry_is_named(requires_postgres: None) -> None:
    _some(6)
    _tamper("UPDATE audit_entry SET outcome = 'denied' WHERE seq = 4", [])
    status, output = _verify()
    assert status == 1 and "#4" in output and "edited" in output


def test_a_removed_entry_is_named(requires_postgres: None) -> None:
    _some(6)
    _tamper("DELETE FROM audit_entry WHERE seq = 3", [])
    status, output = _verify()
    assert status == 1 and "entry #4" in output and "#3" in output and "removed" in output


def test_an_inserted_entry_is_named(requires_postgres: None) -> None:
    entries = _some(4)
    # A forged entry squeezed in as #3 (the later ones moved up), chained to #2 but MACed without the key.
    _tamper("UPDATE audit_entry SET seq = -(seq + 1) WHERE seq >= 3", [])  # two steps: seq is unique
    _tamper("UPDATE audit_entry SET seq = -seq WHERE seq < 0", [])
    forged = {f: getattr(entries[2], f) for f in ("actor_role", "action", "object_type", "object_id", "outcome")}
    _tamper(
        "INSERT INTO audit_entry (seq, at, actor_id, actor_role, action, object_type, object_id, client_address, "
        "outcome, details, prev_mac, mac) VALUES (3, %s, NULL, %s, %s, %s, %s, '', %s, '{}', %s, %s)",
        [timezone.now(), *forged.values(), entries[1].mac, "f" * 64],
    )
    status, output = _verify()
    assert status == 1 and "#3" in output


def test_reordered_entries_are_named(requires_postgres: None) -> None:
    _some(5)
    _tamper("UPDATE audit_entry SET seq = -1 WHERE seq = 2", [])
    _tamper("UPDATE audit_entry SET seq = 2 WHERE seq = 3", [])
    _tamper("UPDATE audit_entry SET seq = 3 WHERE seq = -1", [])
    status, output = _verify()
    assert status == 1 and "#2" in output and ("reordered" in output or "edited" in output)


def test_the_newest_entries_removed_are_caught_with_an_anchor() -> None:
    entries = _some(5)
    anchor = f"{entries[-1].seq}:{entries[-1].mac}"
    call_command("verify_audit_trail", anchor=anchor, stdout=_Sink([]))
    _tamper("DELETE FROM audit_entry WHERE seq >= 4", [])
    verdict = trail_verify(anchor=(entries[-1].seq, entries[-1].mac))
    assert not verdict.intact and "#5 is gone" in verdict.reason
    assert trail_verify().intact  # without the anchor, a shorter chain is still a chain


def test_pruning_leaves_a_signed_checkpoint_and_the_chain_verifies(settings: object, monkeypatch: object) -> None:
    monkeypatch.setattr(services, "_PRUNE_BATCH", 2)  # type: ignore[attr-defined]  # several batches
    _some(6)
    later = timezone.now() + timedelta(days=settings.AUDIT_RETENTION_DAYS + 1)  # type: ignore[attr-defined]
    assert services.trail_prune(now=later) == 5  # never the newest entry: the chain's head
    assert services.trail_prune() == 0  # nothing more is old enough today
    remaining = list(Entry.objects.order_by("seq"))
    assert [e.action for e in remaining] == [Action.TRANSCRIPT_OPENED, Action.TRAIL_PRUNED]
    assert remaining[1].seq == 7 and remaining[1].details == {"entries": 5, "through_seq": 5}
    assert list(Checkpoint.objects.order_by("seq").values_list("seq", "pruned")) == [(2, 2), (4, 2), (5, 1)]
    _some(2)
    status, output = _verify()
    assert status == 0 and "#6 to #9" in output


def test_pruning_keeps_what_the_caller_still_needs(settings: object) -> None:
    entries = _some(6)
    later = timezone.now() + timedelta(days=settings.AUDIT_RETENTION_DAYS + 1)  # type: ignore[attr-defined]
    assert services.trail_prune(now=later, keep_from=lambda: entries[2].seq) == 2
    assert Entry.objects.order_by("seq").first().seq == 3
    assert trail_verify().intact


def test_a_removed_or_forged_checkpoint_is_caught(settings: object) -> None:
    _some(3)
    services.trail_prune(now=timezone.now() + timedelta(days=settings.AUDIT_RETENTION_DAYS + 1))  # type: ignore[attr-defined]
    _tamper("UPDATE audit_checkpoint SET pruned = 99", [])
    status, output = _verify()
    assert status == 1 and "not signed" in output
    _tamper("DELETE FROM audit_checkpoint", [])
    status, output = _verify()
    assert status == 1 and "before #3 were removed" in output


_WRITERS = """
import sys, threading, django
django.setup()
from audit import services
from audit.actions import Action
from django.db import close_old_connections

def write(tag):
    for i in range(25):
        services.record(Action.HISTORY_SEARCHED, obj=("writer", f"{tag}-{i}"))
    close_old_connections()

threads = [threading.Thread(target=write, args=(f"{sys.argv[1]}{n}",)) for n in range(4)]
for t in threads: t.start()
for t in threads: t.join()
"""


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_writers_in_two_processes_chain_without_gaps_or_forks(requires_postgres: None) -> None:
    env = servers.server_env()
    processes = [
        subprocess.Popen([sys.executable, "-c", _WRITERS, name], env=env, cwd=servers.ROOT) for name in ("a", "b")
    ]
    for process in processes:
        assert process.wait(timeout=120) == 0
    seqs = list(Entry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 201))
    assert Entry.objects.values("object_id").distinct().count() == 200
    assert trail_verify().intact and trail_verify().checked == 200
    assert Checkpoint.objects.count() == 0
