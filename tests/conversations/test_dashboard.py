"""The supervisor dashboard: each figure against a hand-computed fixture, who may open it, and a
query count that does not grow with the conversations."""

from __future__ import annotations

import datetime as dt
import importlib
import uuid
import zoneinfo
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from conversations import dashboard, services
from conversations.dashboard import Times, dashboard_figures, percentile_cont
from conversations.models import Conversation, Message
from tests.auth import signed_in_client
from tests.factories import UserFactory, conversation_assigned, conversation_waiting
from vault.datakeys import data_keys_create

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
NOW = dt.datetime(2026, 3, 10, 15, 30, tzinfo=PARIS)  # UTC+1: DST starts on 29 March


def at(hour: int, minute: int = 0, day: int = 10) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=PARIS)


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def _make(created: dt.datetime, **fields: Any) -> None:
    """A conversation with these timestamps (created_at is set after: it is auto_now_add)."""
    conversation = Conversation.objects.create(data_key_id=data_keys_create(1)[0], **fields)
    Conversation.objects.filter(pk=conversation.pk).update(created_at=created)


@pytest.fixture
def week(settings: Any, agent: User, other_agent: User, supervisor: User) -> dict[str, User]:
    """Alex (agent) and Sam (other_agent); times in Paris. Durations in minutes, hand-over to
    first response (FR) and to resolution (RES):

    today  A 09:00 alex  FR 3   RES 18      E 14:00 waiting since 14:10 (80 min at 15:30)
           B 10:00 alex  FR 10  RES 60      F 15:00 waiting since 15:20
           C 11:00 sam   FR 1   RES 31      G 13:00 sam, open, FR 30
           D 12:00 the bot only
    yesterday 22:00  H alex, handed over 23:50, FR 20 (00:10 today), RES 120 (01:50 today)
    5 March   I sam  FR 1  RES 25            2 March  J alex (outside the 7 days)
    """
    settings.TIME_ZONE = "Europe/Paris"
    timezone.activate(PARIS)
    S = Conversation.State
    alex, sam = agent, other_agent

    def done(created: dt.datetime, who: User, handed: dt.datetime, fr: float, res: float) -> None:
        _make(
            created,
            state=S.RESOLVED,
            assigned_agent=who,
            handed_over_at=handed,
            first_response_at=handed + minutes(fr),
            resolved_at=handed + minutes(res),
        )

    done(at(9), alex, at(9, 2), 3, 18)  # A
    done(at(10), alex, at(10, 1), 10, 60)  # B
    done(at(11), sam, at(11), 1, 31)  # C
    _make(at(12), state=S.BOT)  # D
    _make(at(14), state=S.WAITING, handed_over_at=at(14, 10), waiting_since=at(14, 10))  # E
    _make(at(15), state=S.WAITING, handed_over_at=at(15, 20), waiting_since=at(15, 20))  # F
    _make(at(13), state=S.AGENT, assigned_agent=sam, handed_over_at=at(13), first_response_at=at(13, 30))  # G
    done(at(22, day=9), alex, at(23, 50, day=9), 20, 120)  # H
    done(at(10, day=5), sam, at(10, 5, day=5), 1, 25)  # I
    done(at(10, day=2), alex, at(10, 5, day=2), 2, 5)  # J
    yield {"alex": alex, "sam": sam, "morgan": supervisor}
    timezone.deactivate()


def _agents(board: dashboard.Dashboard) -> dict[str, dashboard.AgentFigures]:
    return {row.name: row for row in board.agents}


def test_today_against_the_hand_computed_figures(week: dict[str, User]) -> None:
    board = dashboard_figures(period="today", now=NOW)
    assert board.since == at(0)
    assert (board.waiting_now, board.longest_wait) == (2, minutes(80))
    assert (board.opened, board.handed_over, board.handoff_rate) == (7, 6, 6 / 7)
    assert board.per_hour == pytest.approx(7 / 15.5)
    # First responses today: A 3, B 10, C 1, G 30, H 20 -> [1, 3, 10, 20, 30].
    assert board.first_response == Times(count=5, median=minutes(10), p90=minutes(26))
    # Resolved today: A 18, B 60, C 31, H 120 -> [18, 31, 60, 120].
    assert board.resolution == Times(count=4, median=minutes(45.5), p90=minutes(102))
    agents = _agents(board)
    assert list(agents) == ["Alex", "Sam", "Morgan"]  # by username: agent, other_agent, supervisor
    assert agents["Alex"].open_now == 0
    assert agents["Alex"].first_response == Times(count=3, median=minutes(10), p90=minutes(18))
    assert agents["Alex"].resolution == Times(count=3, median=minutes(60), p90=minutes(108))
    assert agents["Sam"].open_now == 1
    assert agents["Sam"].first_response == Times(count=2, median=minutes(15.5), p90=minutes(27.1))
    assert agents["Sam"].resolution == Times(count=1, median=minutes(31), p90=minutes(31))
    assert agents["Morgan"].first_response == Times() and agents["Morgan"].open_now == 0
    # Hourly buckets from midnight to 15:00, Paris time.
    assert [b.start.hour for b in board.buckets] == list(range(16))
    assert {b.start.hour: (b.opened, b.handed_over) for b in board.buckets if b.opened} == {
        9: (1, 1),
        10: (1, 1),
        11: (1, 1),
        12: (1, 0),
        13: (1, 1),
        14: (1, 1),
        15: (1, 1),
    }


def test_last_seven_days_against_the_hand_computed_figures(week: dict[str, User]) -> None:
    board = dashboard_figures(period="7d", now=NOW)
    assert board.since == at(0, day=4)
    assert (board.opened, board.handed_over) == (9, 8)  # J (2 March) is outside
    assert board.per_hour == pytest.approx(9 / (6 * 24 + 15.5))
    # [1, 1, 3, 10, 20, 30] and [18, 25, 31, 60, 120]
    assert board.first_response == Times(count=6, median=minutes(6.5), p90=minutes(25))
    assert board.resolution == Times(count=5, median=minutes(31), p90=minutes(96))
    agents = _agents(board)
    assert agents["Sam"].first_response == Times(count=3, median=minutes(1), p90=minutes(24.2))
    assert agents["Sam"].resolution == Times(count=2, median=minutes(28), p90=minutes(30.4))
    assert [(b.start.day, b.opened, b.handed_over) for b in board.buckets] == [
        (4, 0, 0),
        (5, 1, 1),
        (6, 0, 0),
        (7, 0, 0),
        (8, 0, 0),
        (9, 1, 1),
        (10, 7, 6),
    ]


def test_the_fallback_without_sql_percentiles_gives_the_same_figures(
    week: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite has no percentile_cont: the durations are fetched and interpolated alike."""
    in_sql = dashboard_figures(period="7d", now=NOW)
    monkeypatch.setattr(dashboard, "sql_percentiles", lambda: False)
    assert dashboard_figures(period="7d", now=NOW) == in_sql


def test_percentile_cont_interpolates_as_postgresql() -> None:
    values = [minutes(n) for n in (1, 3, 10, 20, 30)]
    assert percentile_cont(values, 0.5) == minutes(10)
    assert percentile_cont(values, 0.9) == minutes(26)
    assert percentile_cont([minutes(7)], 0.9) == minutes(7)
    assert percentile_cont([], 0.5) is None


def test_an_empty_dashboard(supervisor: User) -> None:
    board = dashboard_figures(period="today")
    assert (board.waiting_now, board.longest_wait, board.opened, board.handoff_rate) == (0, None, 0, None)
    assert board.first_response == Times() and board.resolution == Times()
    page = signed_in_client(supervisor).get("/console/dashboard/").content.decode()
    assert 'id="stat-longest">—<' in page


def test_the_services_stamp_hand_over_and_first_response(agent: User) -> None:
    conversation = conversation_waiting()
    handed = Conversation.objects.get(pk=conversation.pk).handed_over_at
    assert handed is not None
    services.conversation_claim(conversation_id=conversation.pk, agent=agent)
    assert Conversation.objects.get(pk=conversation.pk).first_response_at is None
    first = services.message_post(
        conversation_id=conversation.pk, sender=Message.Sender.AGENT, body="Hello", client_id=uuid.uuid4(), author=agent
    ).message
    services.message_post(
        conversation_id=conversation.pk, sender=Message.Sender.AGENT, body="Again", client_id=uuid.uuid4(), author=agent
    )
    services.conversation_resolve(conversation_id=conversation.pk, by=agent)
    services.message_post(  # the customer reopens it: the first hand-over stands
        conversation_id=conversation.pk, sender=Message.Sender.CUSTOMER, body="One more", client_id=uuid.uuid4()
    )
    reopened = Conversation.objects.get(pk=conversation.pk)
    assert reopened.state == Conversation.State.WAITING
    assert (reopened.handed_over_at, reopened.first_response_at) == (handed, first.created_at)


def test_an_assignment_straight_from_the_bot_counts_as_the_hand_over(agent: User) -> None:
    conversation = services.conversation_start(customer=None)
    services.conversation_assign(conversation_id=conversation.pk, agent=agent)
    assert Conversation.objects.get(pk=conversation.pk).handed_over_at is not None


def test_only_supervisors_open_the_dashboard(agent: User, supervisor: User, customer: User) -> None:
    assert signed_in_client(agent).get("/console/dashboard/").status_code == 403
    assert signed_in_client(customer).get("/console/dashboard/").status_code == 403
    response = signed_in_client(supervisor).get("/console/dashboard/?period=7d")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'aria-current="page">Last 7 days' in page and "<svg" in page and 'role="img"' in page
    assert 'href="/console/dashboard/"' in page  # the supervisor's menu
    assert 'href="/console/dashboard/"' not in signed_in_client(agent).get("/console/").content.decode()
    assert signed_in_client(supervisor).get("/console/dashboard/?period=nonsense").status_code == 200


def test_the_page_shows_the_figures(supervisor: User, agent: User) -> None:
    conversation_assigned(agent)
    conversation_waiting()
    page = signed_in_client(supervisor).get("/console/dashboard/").content.decode()
    assert 'id="stat-waiting">1<' in page
    assert 'id="stat-opened">2<' in page
    assert "100 %" in page  # both handed over
    assert '<th scope="row">Alex</th><td>1</td>' in page  # open now


def _bulk(n: int, agents: list[User], *, seed_minute: int = 0) -> None:
    """n conversations in every state, spread over the last week and over `agents`."""
    now = timezone.now()
    S = Conversation.State
    rows = []
    for i, key in enumerate(data_keys_create(n)):
        handed = now - dt.timedelta(minutes=(i * 37 + seed_minute) % (7 * 24 * 60))
        state = [S.BOT, S.WAITING, S.AGENT, S.RESOLVED, S.RESOLVED][i % 5]
        rows.append(
            Conversation(
                data_key_id=key,
                state=state,
                assigned_agent=agents[i % len(agents)] if state in (S.AGENT, S.RESOLVED) else None,
                handed_over_at=handed if state != S.BOT else None,
                waiting_since=handed if state == S.WAITING else None,
                first_response_at=handed + minutes(i % 13) if state in (S.AGENT, S.RESOLVED) else None,
                resolved_at=handed + minutes(20 + i % 50) if state == S.RESOLVED else None,
            )
        )
    Conversation.objects.bulk_create(rows)


@pytest.mark.parametrize("period", ["today", "7d"])
def test_the_query_count_does_not_grow_with_the_conversations(supervisor: User, period: str) -> None:
    agents = [UserFactory(username=f"agent-{i}", role=User.Role.AGENT) for i in range(5)]
    client = signed_in_client(supervisor)
    url = f"/console/dashboard/?period={period}"
    _bulk(10, agents[:2])
    client.get(url)  # the session's first use
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    _bulk(190, agents, seed_minute=11)
    with CaptureQueriesContext(connection) as large:
        assert client.get(url).status_code == 200
    assert len(large) == len(small)
    with CaptureQueriesContext(connection) as figures:
        dashboard_figures(period=period)
    # 8 aggregate queries on PostgreSQL; SQLite's fallback (durations fetched, percentiles in
    # Python) needs fewer.
    assert len(figures) == 8 if connection.vendor == "postgresql" else len(figures) <= 8


def test_older_conversations_are_given_their_times_from_their_messages(agent: User) -> None:
    """Migration 0006's backfill, run over rows that lack both times."""
    backfill = importlib.import_module("conversations.migrations.0007_dashboard").backfill
    answered = conversation_assigned(agent)
    reply = services.message_post(
        conversation_id=answered.pk, sender=Message.Sender.AGENT, body="Hi", client_id=uuid.uuid4(), author=agent
    ).message
    waiting, bot_only = conversation_waiting(), services.conversation_start(customer=None)
    Conversation.objects.update(handed_over_at=None, first_response_at=None)
    backfill(apps, None)
    hand_over = Message.objects.filter(conversation=answered, sender=Message.Sender.SYSTEM).order_by("seq").first()
    rows = {c.pk: (c.handed_over_at, c.first_response_at) for c in Conversation.objects.all()}
    assert rows[answered.pk] == (hand_over.created_at, reply.created_at)
    assert rows[waiting.pk][0] is not None and rows[waiting.pk][1] is None
    assert rows[bot_only.pk] == (None, None)
