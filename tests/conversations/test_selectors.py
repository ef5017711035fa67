"""The console's lists at any size: the queue is bounded, the history is paged by keyset, and
neither asks more queries as conversations grow."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conversations import selectors
from conversations.models import Conversation
from tests.auth import signed_in_client
from tests.factories import conversation_assigned, conversation_waiting

pytestmark = pytest.mark.django_db


def _past(*times: dt.datetime, state: str = Conversation.State.RESOLVED) -> list[Conversation]:
    return [Conversation.objects.create(state=state, last_seq=3, last_message_at=t) for t in times]


def _walk(user: Any, *, size: int, **filters: Any) -> list[Any]:
    """Every page's ids, following the "Older" links from the first page."""
    pages, cursor = [], ""
    while True:
        page = selectors.history_page(user=user, size=size, cursor=cursor, **filters)
        pages.append([c.pk for c in page.conversations])
        if page.older is None:
            return pages
        cursor = page.older


def test_history_pages_list_each_conversation_once_newest_first(supervisor: Any) -> None:
    now = timezone.now()
    same = now - dt.timedelta(hours=1)  # equal times: the id decides, and no row is lost between pages
    conversations = _past(now, same, same, same, now - dt.timedelta(days=1), now - dt.timedelta(days=2), same)
    Conversation.objects.create(state=Conversation.State.BOT, last_seq=1, last_message_at=now)  # greeting only
    expected = [c.pk for c in sorted(conversations, key=lambda c: (c.last_message_at, c.pk), reverse=True)]

    pages = _walk(supervisor, size=3)
    assert [len(p) for p in pages] == [3, 3, 1] and sum(pages, []) == expected

    # and back: the "Newer" link of each page leads to the page before it
    last = selectors.history_page(
        user=supervisor,
        size=3,
        cursor=selectors._cursor("older", Conversation(pk=expected[5], last_message_at=now - dt.timedelta(days=1))),
    )
    assert [c.pk for c in last.conversations] == pages[2]
    middle = selectors.history_page(user=supervisor, size=3, cursor=last.newer)
    assert [c.pk for c in middle.conversations] == pages[1]
    first = selectors.history_page(user=supervisor, size=3, cursor=middle.newer)
    assert [c.pk for c in first.conversations] == pages[0] and first.newer is None


@pytest.mark.parametrize(
    "cursor", ["", "99", "older.x.y", "newer.1.not-a-uuid", "older.99999999999999999999.1-2", "a.b.c.d"]
)
def test_a_bad_cursor_is_the_first_page(supervisor: Any, cursor: str) -> None:
    _past(timezone.now())
    page = selectors.history_page(user=supervisor, cursor=cursor)
    assert len(page.conversations) == 1 and page.newer is None and page.older is None


def test_history_dates_are_whole_days_in_the_current_time_zone(supervisor: Any, settings: Any) -> None:
    settings.TIME_ZONE = "America/New_York"
    zone = timezone.get_current_timezone()
    late = dt.datetime(2026, 3, 2, 23, 30, tzinfo=zone)  # 2 March in New York, 3 March in UTC
    early = dt.datetime(2026, 3, 3, 0, 30, tzinfo=zone)
    before, after = _past(late, early)
    day = dt.date(2026, 3, 2)
    assert _walk(supervisor, size=10, since=day, until=day) == [[before.pk]]
    assert _walk(supervisor, size=10, since=day + dt.timedelta(days=1)) == [[after.pk]]


def test_the_queue_lists_the_longest_waiting_first_up_to_its_limit(agent: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selectors, "QUEUE_LIMIT", 3)
    waiting = [conversation_waiting() for _ in range(5)]
    mine = conversation_assigned(agent)
    assert [c.pk for c in selectors.queue_for(user=agent)] == [*(c.pk for c in waiting[:3]), mine.pk]


def _queries(call: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


@pytest.mark.parametrize("persona", ["agent", "supervisor"])
def test_console_lists_ask_the_same_queries_at_any_size(
    request: pytest.FixtureRequest, persona: str, agent: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted with two sizes of everything: the queue past its limit, the history past a page."""
    monkeypatch.setattr(selectors, "QUEUE_LIMIT", 4)
    user = request.getfixturevalue(persona)
    client = signed_in_client(user)
    cursor = selectors._cursor("older", Conversation(pk=Conversation().pk, last_message_at=timezone.now()))
    calls = {
        "queue page": lambda: client.get("/console/"),
        "queue snapshot": lambda: selectors.queue_items(user=user),
        "history": lambda: client.get("/console/history/"),
        "history, older page": lambda: client.get(f"/console/history/?page={cursor}&state=resolved"),
    }
    counts = []
    for _ in range(2):
        for _ in range(3):
            conversation_waiting()
            conversation_assigned(user if persona == "agent" else agent)
        _past(*(timezone.now() - dt.timedelta(minutes=i) for i in range(15)))
        counts.append({name: _queries(call) for name, call in calls.items()})
    assert counts[0] == counts[1]
    assert len(selectors.queue_for(user=user)) == (8 if persona == "agent" else 4)
