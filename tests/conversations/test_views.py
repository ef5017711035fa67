"""The widget page and the console: who may see what, and what the pages do."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from conversations import deletion, services
from conversations.models import Conversation
from tests.auth import signed_in_client
from tests.factories import UserFactory, conversation_assigned, conversation_waiting

pytestmark = pytest.mark.django_db


def _client(user: object = None) -> Client:
    return Client() if user is None else signed_in_client(user)


def _without_csrf(html: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", html)


def test_widget_page_gives_a_session_and_may_be_framed_only_by_configured_sites(settings: object) -> None:
    response = Client().get("/chat/")
    assert response.status_code == 200
    assert "sessionid" in response.cookies and response.cookies["sessionid"]["httponly"]
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in csp and "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in Client().get("/privacy/").headers["Content-Security-Policy"]


def test_widget_page_tells_the_browser_the_masking_policy(settings: Any) -> None:
    """What the warning before sending checks for, and where it sends customers instead."""
    settings.REDACTION_KINDS = ["card", "phone"]
    settings.REDACTION_KEEP_DOMAINS = ["harborbank.example"]
    settings.SECURE_CHANNEL_TEXT = "Use the <Harbor> app for payments."
    response = Client().get("/chat/")
    policy = re.search(r'<script id="redaction-policy" type="application/json">(.*?)</script>', response.text)
    assert policy is not None
    assert json.loads(policy.group(1)) == {
        "kinds": ["card", "phone"],
        "keep_domains": ["harborbank.example"],
        "labels": {"card": "a card number", "phone": "a phone number"},
    }
    assert "Use the &lt;Harbor&gt; app for payments." in response.text


@pytest.mark.parametrize("url", ["/console/", "/console/history/", "/console/conversations/x/"])
def test_console_needs_sign_in(url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


@pytest.mark.parametrize("persona", ["customer", "privacy_officer"])
def test_console_is_forbidden_to_non_console_roles(request: pytest.FixtureRequest, persona: str) -> None:
    client = _client(request.getfixturevalue(persona))
    assert client.get("/console/").status_code == 403
    assert client.get("/console/history/").status_code == 403


def test_agent_sees_the_queue_and_their_own_conversations_only(agent: object, other_agent: object) -> None:
    mine = conversation_assigned(agent)
    theirs = conversation_assigned(other_agent)
    waiting = conversation_waiting()
    client = _client(agent)
    response = client.get("/console/")
    assert response.status_code == 200
    assert [c.pk for c in response.context["queue"]] == [waiting.pk, mine.pk]
    assert client.get(f"/console/conversations/{mine.pk}/").status_code == 200
    assert client.get(f"/console/conversations/{waiting.pk}/").status_code == 200
    forged = client.get(f"/console/conversations/{theirs.pk}/")
    missing = client.get("/console/conversations/00000000-0000-0000-0000-000000000000/")
    assert forged.status_code == missing.status_code == 404
    assert _without_csrf(forged.content) == _without_csrf(missing.content)


GONE = "This conversation no longer exists: it was deleted."


def test_a_reload_after_the_conversation_was_deleted_says_so_with_the_consoles_own_page(
    agent: object, other_agent: object, supervisor: object
) -> None:
    conversation = conversation_assigned(agent)
    client = _client(agent)
    assert client.get(f"/console/conversations/{conversation.pk}/").status_code == 200  # the agent had it open
    deletion.conversations_delete(ids=[conversation.pk], reason=deletion.DELETED_BY_CUSTOMER)

    response = client.get(f"/console/conversations/{conversation.pk}/")
    page = response.content.decode()
    assert response.status_code == 404
    assert GONE in page and 'href="/console/">Back to the queue</a>' in page
    assert 'class="topbar"' in page and "/static/css/app.css" in page  # the product's page, not a bare 404
    assert "<script" not in page  # nothing inline (CSP), and no console script for a conversation that is gone

    # To anyone who never had it open, a deleted id is like one that never existed.
    never = _client(other_agent).get(f"/console/conversations/{conversation.pk}/")
    missing = _client(other_agent).get(f"/console/conversations/{uuid.uuid4()}/")
    assert never.status_code == missing.status_code == 404
    assert GONE not in never.content.decode() and "does not exist, or you cannot open it" in never.content.decode()
    assert _without_csrf(never.content) == _without_csrf(missing.content)
    assert GONE not in _client(supervisor).get(f"/console/conversations/{conversation.pk}/").content.decode()


def test_losing_access_to_a_conversation_one_had_open_is_not_told_as_a_deletion(
    agent: object, other_agent: object, supervisor: object
) -> None:
    conversation = conversation_waiting()
    client = _client(agent)
    assert client.get(f"/console/conversations/{conversation.pk}/").status_code == 200
    services.conversation_claim(conversation_id=conversation.pk, agent=other_agent)
    forbidden = client.get(f"/console/conversations/{conversation.pk}/")
    missing = client.get("/console/conversations/not-a-uuid/")
    assert forbidden.status_code == missing.status_code == 404
    assert _without_csrf(forbidden.content) == _without_csrf(missing.content)
    assert GONE not in forbidden.content.decode()


def test_supervisor_sees_every_conversation(agent: object, supervisor: object) -> None:
    conversation = conversation_assigned(agent)
    assert _client(supervisor).get(f"/console/conversations/{conversation.pk}/").status_code == 200


def test_claim_and_resolve_through_the_console(agent: object, other_agent: object) -> None:
    conversation = conversation_waiting()
    client = _client(agent)
    assert client.get(reverse("conversations:console_claim", args=[conversation.pk])).status_code == 405
    response = client.post(reverse("conversations:console_claim", args=[conversation.pk]))
    assert response.status_code == 302 and response.url == f"/console/conversations/{conversation.pk}/"
    # Too late for the other agent, and they cannot resolve it either.
    other = _client(other_agent)
    response = other.post(reverse("conversations:console_claim", args=[conversation.pk]), follow=True)
    assert "no longer waiting" in response.content.decode()
    assert other.post(reverse("conversations:console_resolve", args=[conversation.pk])).status_code == 404
    assert client.post(reverse("conversations:console_resolve", args=[conversation.pk])).status_code == 302
    conversation.refresh_from_db()
    assert conversation.state == Conversation.State.RESOLVED and conversation.assigned_agent == agent


def test_posts_need_a_csrf_token(agent: object) -> None:
    conversation = conversation_waiting()
    client = signed_in_client(agent)
    client.handler.enforce_csrf_checks = True
    assert client.post(reverse("conversations:console_claim", args=[conversation.pk])).status_code == 403


def test_transcript_shows_messages_and_notes_to_staff(agent: object) -> None:
    import uuid

    conversation = conversation_assigned(agent)
    services.message_post(conversation_id=conversation.pk, sender="customer", body="<b>hi</b>", client_id=uuid.uuid4())
    services.note_add(conversation_id=conversation.pk, author=agent, client_id=uuid.uuid4(), body="staff only")
    html = _client(agent).get(f"/console/conversations/{conversation.pk}/").content.decode()
    assert "&lt;b&gt;hi&lt;/b&gt;" in html and "<b>hi</b>" not in html
    assert "staff only" in html


def test_history_filters_and_a_bounded_number_of_queries(
    agent: object, supervisor: object, django_assert_max_num_queries: object
) -> None:
    for _ in range(5):
        conversation = conversation_assigned(agent)
        services.conversation_resolve(conversation_id=conversation.pk)
    conversation_assigned(agent)
    services.conversation_start(customer=None)  # greeting only: not listed
    client = _client(supervisor)
    # 7, 4 for its audit entry (the savepoint, the chain's lock, its head, the insert) and 1 for
    # the open alerts' badge that supervisors see on every page.
    with django_assert_max_num_queries(12):
        response = client.get("/console/history/")
    assert response.status_code == 200 and len(response.context["page"].conversations) == 6
    assert len(client.get("/console/history/?state=resolved").context["page"].conversations) == 5
    assert len(client.get(f"/console/history/?agent={agent.pk}&state=agent").context["page"].conversations) == 1
    assert len(client.get("/console/history/?since=2999-01-01").context["page"].conversations) == 0
    assert client.get("/console/history/?state=bogus&agent=x&since=notadate&page=99").status_code == 200


def test_queue_page_uses_a_bounded_number_of_queries(agent: object, django_assert_max_num_queries: object) -> None:
    for _ in range(5):
        conversation_waiting()
    conversation_assigned(agent)
    client = _client(agent)
    with django_assert_max_num_queries(6):
        response = client.get("/console/")
    assert len(response.context["queue"]) == 6


def test_privacy_notice_shows_the_configured_retention(settings: object) -> None:
    settings.RETENTION_DAYS = 45
    html = Client().get("/privacy/").content.decode()
    assert "45 days" in html and "no outside AI provider" in html


def test_supervisor_reassigns_and_agents_cannot(agent: object, other_agent: object, supervisor: object) -> None:
    conversation = conversation_assigned(agent)
    url = reverse("conversations:console_assign", args=[conversation.pk])
    assert _client(agent).post(url, {"agent": other_agent.pk}).status_code == 404
    response = _client(supervisor).post(url, {"agent": other_agent.pk})
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.assigned_agent == other_agent
    # Only to console users.
    outsider = UserFactory(username="outsider")
    assert _client(supervisor).post(url, {"agent": outsider.pk}).status_code == 404
    assert _client(supervisor).post(url, {"agent": "x"}).status_code == 404


def test_assigning_to_an_odd_agent_id_is_a_clear_404_not_a_crash(agent: object, supervisor: object) -> None:
    conversation = conversation_waiting()
    for value in ("²", "-1", "1e3", "", "9" * 30):
        response = signed_in_client(supervisor).post(
            f"/console/conversations/{conversation.pk}/assign/", {"agent": value}
        )
        assert response.status_code == 404, value
