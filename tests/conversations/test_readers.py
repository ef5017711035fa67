"""A signed-in customer sees which roles of our staff accessed each of their conversations, and
when: roles, never names, and never another customer's conversations."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.actions import Action
from audit.models import Entry
from conversations import services
from tests.auth import signed_in_client

pytestmark = pytest.mark.django_db


def _waiting(customer: Any) -> Any:
    conversation = services.conversation_start(customer=customer)
    return services.conversation_hand_over(conversation_id=conversation.pk)


def _opened_in_console(user: Any, conversation: Any) -> None:
    """`user` (staff, signed in with a second factor) opens the transcript in the console."""
    opened = Entry.objects.filter(action=Action.TRANSCRIPT_OPENED, actor_id=user.pk, object_id=str(conversation.pk))
    before = opened.count()
    page = signed_in_client(user).get(f"/console/conversations/{conversation.pk}/")
    assert page.status_code == 200
    assert opened.count() == before + 1  # the console records the read itself


def _lines(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", li).strip() for li in re.findall(r"<li>(.*?)</li>", html, re.S)]


def test_a_customer_sees_the_roles_that_opened_their_conversation_never_names(
    customer: Any, other_customer: Any, agent: Any, supervisor: Any, superuser: Any
) -> None:
    mine, untouched = _waiting(customer), _waiting(customer)
    theirs = _waiting(other_customer)
    _opened_in_console(agent, mine)
    _opened_in_console(supervisor, mine)
    _opened_in_console(superuser, mine)
    _opened_in_console(agent, theirs)
    _opened_in_console(supervisor, theirs)

    client = signed_in_client(customer)
    detail = client.get(f"/me/conversations/{mine.pk}/").content.decode()
    lines = [line for line in _lines(detail) if " — " in line]
    assert [line.split(",")[0] for line in lines] == [
        "Administrator — opened a transcript",
        "Supervisor — opened a transcript",
        "Agent — opened a transcript",
    ]
    assert all(re.search(r", \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d$", line) for line in lines), lines

    listing = client.get("/me/conversations/").content.decode()
    for person in (agent, supervisor, superuser):
        shown = [person.first_name, f">{person.username}<", f" {person.username} —", f"/{person.pk}/"]
        assert not [s for s in shown if s in detail or s in listing], person.username
    assert listing.count("Agent — opened a transcript") == 1  # theirs is not listed
    assert listing.count("Supervisor — opened a transcript") == 1
    assert "Nobody on our staff has accessed it." in listing  # the untouched one
    assert str(untouched.pk) in listing

    other = signed_in_client(other_customer).get(f"/me/conversations/{theirs.pk}/").content.decode()
    assert "Administrator" not in other and "Agent — opened a transcript" in other
    assert signed_in_client(other_customer).get(f"/me/conversations/{mine.pk}/").status_code == 404


def test_repeated_opens_on_one_day_are_one_line(customer: Any, agent: Any) -> None:
    conversation = _waiting(customer)
    for _ in range(3):
        _opened_in_console(agent, conversation)
    page = signed_in_client(customer).get(f"/me/conversations/{conversation.pk}/").content.decode()
    lines = [line for line in _lines(page) if " — " in line]
    assert len(lines) == 1 and lines[0].startswith("Agent — opened a transcript 3 times, "), lines


def test_the_listing_reads_the_trail_once_whatever_the_number_of_conversations(customer: Any, agent: Any) -> None:
    client = signed_in_client(customer)

    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/me/conversations/").status_code == 200
        return [q["sql"] for q in captured.captured_queries]

    _opened_in_console(agent, _waiting(customer))
    one = queries()
    for _ in range(4):
        _opened_in_console(agent, _waiting(customer))
    five = queries()
    assert len(five) == len(one)
    assert len([sql for sql in five if '"audit_entry"' in sql]) == 1
