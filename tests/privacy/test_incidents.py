"""Security incidents: only privacy officers open them, with the time of discovery; the page counts
down the 72-hour notification deadline, lists the audit entries attached to it, and closing it
records who notified whom and when."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from audit.actions import Action
from audit.models import Entry
from audit.services import record
from privacy.models import Incident
from privacy.oversight.incidents import countdown
from tests.auth import signed_in_client

pytestmark = pytest.mark.django_db


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _open(officer_client: Client, *, hours_ago: float = 2, title: str = "Laptop lost") -> Incident:
    discovered = timezone.now() - dt.timedelta(hours=hours_ago)
    response = officer_client.post(
        "/privacy/incidents/",
        {"title": title, "description": "An agent's laptop was left on a train.", "discovered_at": _local(discovered)},
    )
    assert response.status_code == 302, response.content
    return Incident.objects.get(pk=int(re.search(r"/privacy/incidents/(\d+)/", response.url).group(1)))


def test_only_privacy_officers_handle_incidents(
    supervisor: Any, agent: Any, customer: Any, privacy_officer: Any
) -> None:
    incident = _open(signed_in_client(privacy_officer))
    for who in (supervisor, agent, customer):
        visitor = signed_in_client(who)
        assert visitor.get("/privacy/incidents/").status_code == 403
        assert visitor.get(f"/privacy/incidents/{incident.pk}/").status_code == 403
        assert (
            visitor.post("/privacy/incidents/", {"title": "x", "discovered_at": _local(timezone.now())}).status_code
            == 403
        )
    assert Incident.objects.count() == 1
    assert b'href="/privacy/incidents/"' not in signed_in_client(supervisor).get("/privacy/trail/").content
    assert signed_in_client(privacy_officer).get("/privacy/incidents/999999/").status_code == 404


def test_opening_records_the_discovery_and_sets_the_72_hour_deadline(privacy_officer: Any) -> None:
    officer = signed_in_client(privacy_officer)
    incident = _open(officer, hours_ago=2)
    assert incident.deadline == incident.discovered_at + dt.timedelta(hours=72)
    assert (incident.title, incident.opened_by) == ("Laptop lost", privacy_officer)
    opened = Entry.objects.get(action=Action.INCIDENT_OPENED)
    assert (opened.actor_id, opened.object_type, opened.object_id) == (privacy_officer.pk, "incident", str(incident.pk))
    assert opened.details["deadline"] == incident.deadline.isoformat()
    assert "Laptop" not in str(opened.details)
    with connection.cursor() as cursor:
        cursor.execute("SELECT title, description FROM privacy_incident WHERE id = %s", [incident.pk])
        stored = b"".join(bytes(value) for value in cursor.fetchone())
    assert b"Laptop" not in stored and b"train" not in stored  # encrypted at rest


def test_discovery_cannot_be_in_the_future(privacy_officer: Any) -> None:
    response = signed_in_client(privacy_officer).post(
        "/privacy/incidents/", {"title": "x", "discovered_at": _local(timezone.now() + dt.timedelta(hours=2))}
    )
    assert response.status_code == 200 and b"cannot be in the future" in response.content
    assert not Incident.objects.exists()


def test_the_page_counts_down_to_the_deadline_and_shows_overdue(privacy_officer: Any) -> None:
    officer = signed_in_client(privacy_officer)
    fresh = _open(officer, hours_ago=2)
    page = officer.get(f"/privacy/incidents/{fresh.pk}/").content.decode()
    left = re.search(r'<strong id="countdown" data-deadline="([^"]+)">([^<]+)<', page)
    assert left and dt.datetime.fromisoformat(left.group(1)) == fresh.deadline
    assert left.group(2) in ("70 h 00 min left", "69 h 59 min left")  # the page was rendered just now
    assert 'src="/static/js/countdown.js"' in page and "<script>" not in page
    late = _open(officer, hours_ago=75, title="Old breach")
    page = officer.get(f"/privacy/incidents/{late.pk}/").content.decode()
    assert re.search(r'class="countdown overdue".*?>overdue by 3 h 0\d min<', page, re.S)
    listing = officer.get("/privacy/incidents/").content.decode()
    assert listing.index("Old breach") < listing.index("Laptop lost")  # nearest deadline first


def test_countdown_values() -> None:
    now = timezone.now()
    incident = Incident(discovered_at=now, deadline=now + dt.timedelta(hours=72))
    assert countdown(incident, now=now).text == "72 h 00 min left"
    assert countdown(incident, now=now + dt.timedelta(hours=71, minutes=59, seconds=30)).text == "0 h 00 min left"
    past = countdown(incident, now=now + dt.timedelta(hours=73, minutes=5))
    assert (past.overdue, past.seconds, past.text) == (True, -3900, "overdue by 1 h 05 min")


def test_entries_are_attached_by_range_and_filter_as_seqs(privacy_officer: Any, agent: Any, other_agent: Any) -> None:
    officer = signed_in_client(privacy_officer)
    incident = _open(officer)
    reads = [
        record(Action.TRANSCRIPT_OPENED, actor=who, obj=("conversation", "c1")) for who in (agent, other_agent, agent)
    ]
    note = record(Action.NOTE_READ, actor=agent, obj=("conversation", "c1"))
    path = f"/privacy/incidents/{incident.pk}/"
    response = officer.post(
        path,
        {
            "step": "attach",
            "attach-seq_from": reads[0].seq,
            "attach-seq_to": note.seq,
            "attach-user_id": agent.pk,
            "attach-action": Action.TRANSCRIPT_OPENED,
        },
    )
    assert response.status_code == 302
    assert sorted(incident.entries.values_list("seq", flat=True)) == [reads[0].seq, reads[2].seq]
    officer.post(path, {"step": "attach", "attach-seq_from": note.seq, "attach-seq_to": note.seq})
    officer.post(path, {"step": "attach", "attach-seq_from": note.seq, "attach-seq_to": note.seq})  # twice: once
    page = officer.get(path).content.decode()
    assert re.findall(r'data-seq="(\d+)"', page) == [str(reads[0].seq), str(reads[2].seq), str(note.seq)]
    assert "Audit entries (3)" in page
    empty = officer.post(path, {"step": "attach"})
    assert empty.status_code == 200 and b"Give a range of entries or a filter" in empty.content


def test_too_many_entries_at_once_are_refused(privacy_officer: Any, monkeypatch: Any) -> None:
    from privacy.oversight import incidents

    monkeypatch.setattr(incidents, "MAX_ATTACH", 2)
    officer = signed_in_client(privacy_officer)
    incident = _open(officer)
    for _ in range(3):
        record(Action.RETENTION_RUN)
    response = officer.post(f"/privacy/incidents/{incident.pk}/", {"step": "attach", "attach-seq_from": 1}, follow=True)
    assert b"narrow the range" in response.content
    assert not incident.entries.exists()


def test_closing_records_who_notified_whom_and_when(privacy_officer: Any) -> None:
    officer = signed_in_client(privacy_officer)
    incident = _open(officer, hours_ago=10)
    record(Action.RETENTION_RUN)
    officer.post(f"/privacy/incidents/{incident.pk}/", {"step": "attach", "attach-action": Action.RETENTION_RUN})
    notified = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(hours=1)
    response = officer.post(
        f"/privacy/incidents/{incident.pk}/",
        {"step": "close", "close-notified_party": "the supervisory authority", "close-notified_at": _local(notified)},
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.closed_by, incident.notified_party, incident.notified_at) == (
        privacy_officer,
        "the supervisory authority",
        notified,
    )
    closed = Entry.objects.get(action=Action.INCIDENT_CLOSED)
    assert closed.actor_id == privacy_officer.pk and closed.object_id == str(incident.pk)
    assert closed.details == {"notified_at": notified.isoformat(), "within_deadline": True, "entries": 1}
    assert "supervisory" not in str(closed.details)  # free text stays in the incident, encrypted
    page = officer.get(f"/privacy/incidents/{incident.pk}/").content.decode()
    assert "the supervisory authority" in page and "notified within 72 hours" in page
    assert 'id="countdown"' not in page and "Close the incident" not in page
    again = officer.post(
        f"/privacy/incidents/{incident.pk}/",
        {"step": "close", "close-notified_party": "someone else", "close-notified_at": _local(notified)},
        follow=True,
    )
    assert b"This incident is closed" in again.content
    assert Entry.objects.filter(action=Action.INCIDENT_CLOSED).count() == 1


def test_the_list_page_runs_a_fixed_number_of_queries(privacy_officer: Any, django_assert_max_num_queries: Any) -> None:
    officer = signed_in_client(privacy_officer)
    for n in range(5):
        _open(officer, title=f"Incident {n}")
    officer.get("/privacy/incidents/")
    with django_assert_max_num_queries(12):
        assert officer.get("/privacy/incidents/").status_code == 200
