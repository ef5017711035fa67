"""Canned replies: managing them (supervisors the shared ones, everyone their own), filling their
placeholders for a conversation on the server (the customer's first name recorded as a read), and
masking when one is sent, like any message."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from audit.actions import Action
from audit.models import Entry
from conversations import canned
from conversations.models import CannedReply, Message
from tests.auth import signed_in_client
from tests.factories import conversation_assigned
from tests.wsclient import Socket, async_login_session


def _fill(user: User, conversation_id: Any, reply: CannedReply) -> Any:
    return signed_in_client(user).get(f"/console/conversations/{conversation_id}/canned/{reply.pk}/")


def _reads(action: Action = Action.CUSTOMER_OPENED) -> list[Entry]:
    return list(Entry.objects.filter(action=action))


GREETING = "Hello {customer_first_name}, this is {agent_first_name} at {business_name}. {order_ref} {not a placeholder}"


@pytest.mark.django_db
def test_placeholders_are_filled_for_a_signed_in_customer_and_the_name_read_is_recorded(
    agent: User, customer: User, settings: Any
) -> None:
    settings.BUSINESS_NAME = "Harbor Bank"
    conversation = conversation_assigned(agent, customer)
    reply = canned.canned_reply_create(owner=None, shortcut="greet", title="Greeting", body=GREETING)

    response = _fill(agent, conversation.pk, reply)

    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert response.json() == {
        "text": "Hello Customer, this is Alex at Harbor Bank. {order_ref} {not a placeholder}",
        "unknown": ["order_ref"],  # left visible, and flagged
        "will_mask": [],
    }
    [entry] = _reads()
    assert (entry.actor_id, entry.object_type, entry.object_id) == (agent.pk, "conversation", str(conversation.pk))
    assert entry.details == {"field": "first_name", "via": "canned_reply"}


@pytest.mark.django_db
def test_a_visitor_is_greeted_neutrally_and_nothing_is_recorded(agent: User) -> None:
    conversation = conversation_assigned(agent, None)
    reply = canned.canned_reply_create(owner=agent, shortcut="hi", title="Hi", body="Hi {customer_first_name}!")
    assert _fill(agent, conversation.pk, reply).json()["text"] == "Hi there!"
    assert _reads() == []


@pytest.mark.django_db
def test_a_reply_without_the_customer_placeholder_records_no_read(agent: User, customer: User) -> None:
    conversation = conversation_assigned(agent, customer)
    reply = canned.canned_reply_create(owner=agent, shortcut="bye", title="Bye", body="Bye from {agent_first_name}")
    assert _fill(agent, conversation.pk, reply).json()["text"] == "Bye from Alex"
    assert _reads() == []


@pytest.mark.django_db
def test_filling_needs_the_conversation_and_the_reply(
    agent: User, other_agent: User, supervisor: User, customer: User
) -> None:
    conversation = conversation_assigned(agent, customer)
    shared = canned.canned_reply_create(owner=None, shortcut="s", title="S", body="Hi {customer_first_name}")
    others = canned.canned_reply_create(owner=other_agent, shortcut="o", title="O", body="Mine")
    assert _fill(other_agent, conversation.pk, shared).status_code == 404  # not their conversation
    assert _fill(agent, conversation.pk, others).status_code == 404  # not their reply
    assert _fill(agent, uuid.uuid4(), shared).status_code == 404
    assert signed_in_client(agent).get(f"/console/conversations/{conversation.pk}/canned/x/").status_code == 404
    assert _fill(supervisor, conversation.pk, shared).status_code == 200
    assert _fill(customer, conversation.pk, shared).status_code == 403
    assert [e.actor_id for e in _reads()] == [supervisor.pk]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_canned_reply_with_a_card_number_is_masked_when_sent(agent: User, customer: User) -> None:
    """The composer warns, and message_post masks it like any message: the number is never stored."""
    conversation = await sync_to_async(conversation_assigned)(agent, customer)
    reply = await sync_to_async(canned.canned_reply_create)(
        owner=agent, shortcut="card", title="Card on file", body="The card we have is 4111 1111 1111 1111."
    )
    filled = (await sync_to_async(_fill)(agent, conversation.pk, reply)).json()
    assert filled["will_mask"] == ["card number"]

    sock = Socket(f"/ws/agent/conversations/{conversation.pk}/", await async_login_session(agent))
    assert await sock.connect()
    frame = {"type": "message", "client_id": str(uuid.uuid4()), "body": filled["text"]}
    await sock.send(frame)
    echoed = await sock.recv_until("message", client_id=frame["client_id"])
    await sock.close()
    assert "4111 1111 1111 1111" not in echoed["body"] and echoed["body"].endswith("1111.")
    assert echoed["masked"] == ["card"]
    stored = await sync_to_async(Message.objects.get)(conversation_id=conversation.pk, client_id=frame["client_id"])
    assert stored.body == echoed["body"] and stored.masked == ["card"]


# --- managing them -----------------------------------------------------------------------------


def _post(user: User, path: str, **data: Any) -> Any:
    return signed_in_client(user).post(path, data)


@pytest.mark.django_db
def test_supervisors_add_shared_replies_agents_only_their_own(agent: User, supervisor: User) -> None:
    form = {"shortcut": "greet", "title": "Greeting", "body": "Hello {customer_first_name}", "shared": "on"}
    assert _post(supervisor, "/console/canned/new/", **form).status_code == 302
    assert _post(agent, "/console/canned/new/", **form).status_code == 302  # "shared" is not theirs to set
    shared, own = CannedReply.objects.get(owner=None), CannedReply.objects.get(owner=agent)
    assert (shared.shortcut, shared.body, own.shortcut) == ("greet", "Hello {customer_first_name}", "greet")
    assert 'name="shared"' not in signed_in_client(agent).get("/console/canned/new/").content.decode()
    assert 'name="shared"' in signed_in_client(supervisor).get("/console/canned/new/").content.decode()


@pytest.mark.django_db
def test_who_may_edit_and_delete_what(agent: User, other_agent: User, supervisor: User) -> None:
    shared = canned.canned_reply_create(owner=None, shortcut="s", title="Shared", body="Shared text")
    mine = canned.canned_reply_create(owner=agent, shortcut="m", title="Mine", body="My text")
    edit = {"shortcut": "m2", "title": "Mine", "body": "Changed"}
    for user, reply in ((agent, shared), (other_agent, mine), (supervisor, mine)):
        assert signed_in_client(user).get(f"/console/canned/{reply.pk}/").status_code == 404
        assert _post(user, f"/console/canned/{reply.pk}/", **edit).status_code == 404
        assert _post(user, f"/console/canned/{reply.pk}/delete/").status_code == 404
    assert _post(agent, f"/console/canned/{mine.pk}/", **edit).status_code == 302
    mine.refresh_from_db()
    assert (mine.shortcut, mine.body) == ("m2", "Changed")
    assert _post(supervisor, f"/console/canned/{shared.pk}/", **edit).status_code == 302
    assert _post(agent, f"/console/canned/{mine.pk}/delete/").status_code == 302
    assert _post(supervisor, f"/console/canned/{shared.pk}/delete/").status_code == 302
    assert not CannedReply.objects.exists()


@pytest.mark.django_db
def test_the_list_shows_shared_and_own_replies_only_in_constant_queries(
    agent: User, other_agent: User, supervisor: User
) -> None:
    canned.canned_reply_create(owner=None, shortcut="shared1", title="Shared one", body="Shared text")
    canned.canned_reply_create(owner=agent, shortcut="mine1", title="Mine", body="Agent's own text")
    canned.canned_reply_create(owner=other_agent, shortcut="theirs", title="Theirs", body="Other agent's text")
    client = signed_in_client(agent)
    page = client.get("/console/canned/").content.decode()
    assert "/shared1" in page and "/mine1" in page and "/theirs" not in page
    assert f"/console/canned/{CannedReply.objects.get(shortcut='mine1').pk}/" in page
    assert f"/console/canned/{CannedReply.objects.get(shortcut='shared1').pk}/" not in page  # not theirs to edit
    assert "/mine1" not in signed_in_client(supervisor).get("/console/canned/").content.decode()

    with CaptureQueriesContext(connection) as few:
        client.get("/console/canned/")
    for n in range(10):
        canned.canned_reply_create(owner=agent, shortcut=f"more{n}", title="More", body="More")
    with CaptureQueriesContext(connection) as many:
        client.get("/console/canned/")
    assert len(many) == len(few)


@pytest.mark.django_db
def test_shortcuts_are_unique_per_scope_and_unknown_placeholders_are_flagged(agent: User, supervisor: User) -> None:
    canned.canned_reply_create(owner=agent, shortcut="hi", title="Hi", body="Hi")
    response = _post(agent, "/console/canned/new/", shortcut="hi", title="Again", body="Hi again")
    assert response.status_code == 200 and "already used" in response.content.decode()
    assert (
        _post(supervisor, "/console/canned/new/", shortcut="hi", title="Hi", body="Hi", shared="on").status_code == 302
    )
    response = signed_in_client(agent).post(
        "/console/canned/new/", {"shortcut": "ref", "title": "Ref", "body": "Your ref is {order_ref}"}, follow=True
    )
    assert "{order_ref}" in response.content.decode() and "Not a placeholder we fill" in response.content.decode()
    bad = _post(agent, "/console/canned/new/", shortcut="has space", title="X", body="X")
    assert bad.status_code == 200 and CannedReply.objects.filter(title="X").count() == 0


@pytest.mark.django_db
def test_the_body_is_encrypted_at_rest(agent: User) -> None:
    reply = canned.canned_reply_create(owner=agent, shortcut="p", title="P", body="Call me on my cell, Alex")
    with connection.cursor() as cursor:
        key = CannedReply._meta.pk.get_db_prep_value(reply.pk, connection)  # SQLite: hex, no dashes
        cursor.execute("SELECT body FROM conversations_cannedreply WHERE id = %s", [key])
        raw = bytes(cursor.fetchone()[0])
    assert b"Alex" not in raw and CannedReply.objects.get().body == "Call me on my cell, Alex"


@pytest.mark.django_db
def test_the_composer_lists_the_replies_this_user_may_use(agent: User, other_agent: User, customer: User) -> None:
    conversation = conversation_assigned(agent, customer)
    shared = canned.canned_reply_create(owner=None, shortcut="s", title="Shared", body="Shared text")
    mine = canned.canned_reply_create(owner=agent, shortcut="m", title="Mine", body="My text")
    canned.canned_reply_create(owner=other_agent, shortcut="o", title="Theirs", body="Theirs")
    page = signed_in_client(agent).get(f"/console/conversations/{conversation.pk}/").content.decode()
    data = re.search(r'<script id="canned-replies" type="application/json">(.*?)</script>', page)
    assert data is not None
    assert json.loads(data.group(1)) == [
        {"id": str(mine.pk), "shortcut": "m", "title": "Mine", "shared": False},
        {"id": str(shared.pk), "shortcut": "s", "title": "Shared", "shared": True},
    ]
    assert 'role="listbox"' in page and 'for="canned-search"' in page
