"""The audit trail viewer: who may read it, its filters, keyset pages at a constant query count,
and the CSV export, each read recorded in the trail itself."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.actions import Action, Outcome
from audit.context import client
from audit.models import Entry
from audit.services import record
from tests.auth import reauthenticated, signed_in_client
from tests.privacy.oversight import csv_body, entries_bulk

pytestmark = pytest.mark.django_db


def _seqs(response: Any) -> list[int]:
    return [int(s) for s in re.findall(r'data-seq="(\d+)"', response.content.decode())]


def _last_viewed() -> Entry:
    return Entry.objects.filter(action=Action.TRAIL_VIEWED).order_by("-seq").first()


# --- access -----------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/privacy/trail/", "/privacy/trail/export/", "/privacy/alerts/"])
def test_agents_and_customers_are_refused(path: str, agent: Any, customer: Any) -> None:
    assert signed_in_client(agent).get(path).status_code == 403
    assert signed_in_client(customer).get(path).status_code == 403
    assert Client().get(path).status_code == 302  # to sign in
    assert not Entry.objects.filter(action__in=[Action.TRAIL_VIEWED, Action.TRAIL_EXPORTED]).exists()


def test_staff_need_their_second_factor_first(supervisor: Any) -> None:
    response = signed_in_client(supervisor, verified=False).get("/privacy/trail/")
    assert response.status_code == 302 and "/accounts/mfa/" in response.url


@pytest.mark.parametrize("persona", ["supervisor", "privacy_officer", "superuser"])
def test_supervisors_and_officers_read_the_trail_and_their_reading_is_recorded(
    persona: str, request: pytest.FixtureRequest
) -> None:
    viewer = request.getfixturevalue(persona)
    record(Action.RETENTION_RUN)
    response = signed_in_client(viewer).get("/privacy/trail/")
    assert response.status_code == 200
    assert b"Audit trail" in response.content
    viewed = _last_viewed()
    assert viewed.actor_id == viewer.pk and viewed.details == {}


def test_the_header_links_the_trail_for_those_who_may_read_it(supervisor: Any, agent: Any) -> None:
    assert b'href="/privacy/trail/"' in signed_in_client(supervisor).get("/console/").content
    assert b'href="/privacy/trail/"' not in signed_in_client(agent).get("/console/").content


# --- what a row shows ---------------------------------------------------------------------------
def test_staff_are_shown_by_username_and_role_customers_by_id(agent: Any, customer: Any, supervisor: Any) -> None:
    with client("203.0.113.7"):
        record(Action.TRANSCRIPT_OPENED, actor=agent, obj=("conversation", "c1"))
    record(Action.EXPORT_DOWNLOADED, actor=customer, obj=("data_request", "r1"), details={"bytes": 12})
    record(Action.SIGNIN_FAILED, outcome=Outcome.FAILED)
    page = signed_in_client(supervisor).get("/privacy/trail/").content.decode()
    assert "agent (Agent)" in page and "203.0.113.7" in page and "opened a transcript" in page
    assert f"user #{customer.pk} (Customer)" in page and ">customer (" not in page
    assert "bytes=12" in page and "System" in page


# --- filters ------------------------------------------------------------------------------------
def test_filters_by_person_action_object_and_days(agent: Any, other_agent: Any, customer: Any, supervisor: Any) -> None:
    mine = record(Action.TRANSCRIPT_OPENED, actor=agent, obj=("conversation", "101"))
    note = record(Action.NOTE_READ, actor=agent, obj=("conversation", "102"))
    theirs = record(Action.TRANSCRIPT_OPENED, actor=other_agent, obj=("conversation", "101"))
    own = record(Action.EXPORT_DOWNLOADED, actor=customer, obj=("datarequest", "7"))
    staff = signed_in_client(supervisor)

    assert _seqs(staff.get("/privacy/trail/", {"person": agent.pk})) == [note.seq, mine.seq]
    assert _seqs(staff.get("/privacy/trail/", {"user_id": customer.pk})) == [own.seq]
    assert _seqs(staff.get("/privacy/trail/", {"action": Action.TRANSCRIPT_OPENED})) == [theirs.seq, mine.seq]
    assert _seqs(staff.get("/privacy/trail/", {"object_type": "conversation", "object_id": "101"})) == [
        theirs.seq,
        mine.seq,
    ]
    today = timezone.localdate()
    assert len(_seqs(staff.get("/privacy/trail/", {"since": today, "until": today}))) >= 4
    assert _seqs(staff.get("/privacy/trail/", {"until": today - dt.timedelta(days=1)})) == []
    assert _seqs(staff.get("/privacy/trail/", {"since": today + dt.timedelta(days=1)})) == []

    staff.get("/privacy/trail/", {"person": agent.pk, "action": Action.NOTE_READ, "since": today})
    assert _last_viewed().details == {"actor_id": agent.pk, "action": "note.read", "since": today.isoformat()}


def test_the_person_select_lists_staff_only(agent: Any, customer: Any, supervisor: Any) -> None:
    page = signed_in_client(supervisor).get("/privacy/trail/").content.decode()
    assert f'<option value="{agent.pk}">agent (Agent)</option>' in page
    assert f'value="{customer.pk}"' not in page


def test_bad_filters_are_shown_and_show_nothing(supervisor: Any) -> None:
    record(Action.RETENTION_RUN)
    response = signed_in_client(supervisor).get("/privacy/trail/", {"since": "notadate", "before": "x"})
    assert response.status_code == 400 and b"Enter a valid date" in response.content
    assert _seqs(response) == []


# --- pages --------------------------------------------------------------------------------------
def test_keyset_pages_of_fifty_with_an_older_link(agent: Any, supervisor: Any) -> None:
    entries = entries_bulk(120, actor=agent)
    staff = signed_in_client(supervisor)
    first = staff.get("/privacy/trail/", {"person": agent.pk})
    assert _seqs(first) == [e.seq for e in reversed(entries)][:50]
    older = re.search(r'href="\?([^"]*before=(\d+))"', first.content.decode())
    assert older and int(older.group(2)) == entries[70].seq
    second = staff.get("/privacy/trail/?" + older.group(1).replace("&amp;", "&"))
    assert _seqs(second) == [e.seq for e in reversed(entries)][50:100]
    assert _last_viewed().details == {"actor_id": agent.pk, "before_seq": entries[70].seq}
    third = staff.get("/privacy/trail/", {"person": agent.pk, "before": entries[20].seq})
    assert _seqs(third) == [e.seq for e in reversed(entries[:20])]
    assert b"Older" not in third.content


def _queries(staff: Client, **params: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert staff.get("/privacy/trail/", params).status_code == 200
    return len(captured)


def test_the_trail_page_runs_the_same_queries_whatever_the_trail_size(
    agent: Any, other_agent: Any, customer: Any, supervisor: Any
) -> None:
    staff = signed_in_client(supervisor)
    people = [agent, other_agent, customer, supervisor]
    entries_bulk(300, actors=people)
    small = (_queries(staff), _queries(staff, before=250), _queries(staff, action=Action.TRANSCRIPT_OPENED))
    entries_bulk(3000, actors=people)
    large = (_queries(staff), _queries(staff, before=2500), _queries(staff, action=Action.TRANSCRIPT_OPENED))
    assert small == large
    assert max(large) <= 16


# --- CSV export ---------------------------------------------------------------------------------
def test_the_export_asks_for_a_fresh_password_first(supervisor: Any) -> None:
    response = signed_in_client(supervisor).get("/privacy/trail/export/")
    assert response.status_code == 302 and "/accounts/reauth/" in response.url
    assert not Entry.objects.filter(action=Action.TRAIL_EXPORTED).exists()


def test_the_export_streams_the_filtered_rows_safely_and_is_recorded(agent: Any, supervisor: Any) -> None:
    opened = record(Action.TRANSCRIPT_OPENED, actor=agent, obj=("conversation", "=HYPERLINK(1)"))
    record(Action.NOTE_READ, actor=agent, obj=("conversation", "c2"))
    staff = reauthenticated(signed_in_client(supervisor))
    response = staff.get("/privacy/trail/export/", {"action": Action.TRANSCRIPT_OPENED})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="audit-trail-')
    rows = list(csv.reader(io.StringIO(csv_body(response).decode())))
    assert rows[0][:3] == ["seq", "time", "person"]
    assert len(rows) == 2
    seq, _at, person, role, action, object_type, object_id, *_ = rows[1]
    assert (int(seq), person, role, action, object_type) == (
        opened.seq,
        "agent (Agent)",
        "agent",
        "transcript.opened",
        "conversation",
    )
    assert object_id == "'=HYPERLINK(1)"  # a spreadsheet shows it as text, never runs it
    exported = Entry.objects.get(action=Action.TRAIL_EXPORTED)
    assert exported.actor_id == supervisor.pk and exported.details == {"action": "transcript.opened"}


def test_the_export_reads_every_match_in_batches(agent: Any, supervisor: Any, monkeypatch: Any) -> None:
    from privacy.oversight import trail

    monkeypatch.setattr(trail, "EXPORT_BATCH", 7)
    entries_bulk(30, actor=agent)
    staff = reauthenticated(signed_in_client(supervisor))
    body = csv_body(staff.get("/privacy/trail/export/", {"person": agent.pk})).decode()
    assert len(list(csv.reader(io.StringIO(body)))) == 31


def test_free_text_and_invalid_filters_are_refused_not_recorded_or_dropped(supervisor: Any) -> None:
    staff = reauthenticated(signed_in_client(supervisor))
    before = Entry.objects.count()
    for params in (
        {"object_id": "dana@example.com"},
        {"object_type": "dana@example.com"},
        {"since": "2026-12-01", "until": "2026-11-01"},
    ):
        page = staff.get("/privacy/trail/", params)
        assert page.status_code == 400 and "dana@example.com" not in str(list(Entry.objects.values_list("details")))
        export = staff.get("/privacy/trail/export/", params)
        assert export.status_code == 400
    assert Entry.objects.count() == before  # nothing read, nothing recorded
    uuid_id = "6E52E228-18B6-416E-B2EA-6F3EBE2DCB47"
    assert staff.get("/privacy/trail/", {"object_type": "conversation", "object_id": uuid_id}).status_code == 200
    [entry] = Entry.objects.filter(action="trail.viewed")
    assert entry.details["object_id"] == uuid_id.lower()
