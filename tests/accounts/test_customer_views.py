"""Signed-in customers see their past conversations, and nobody else's."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from conversations import services
from tests.auth import signed_in_client

pytestmark = pytest.mark.django_db


def test_customer_sees_their_conversations_and_transcripts(customer: object, other_customer: object) -> None:
    mine = services.conversation_start(customer=customer)
    services.message_post(conversation_id=mine.pk, sender="customer", body="my question", client_id=uuid.uuid4())
    theirs = services.conversation_start(customer=other_customer)
    client = Client()
    client.force_login(customer)
    listing = client.get("/me/conversations/")
    assert [c.pk for c in listing.context["conversations"]] == [mine.pk]
    html = client.get(f"/me/conversations/{mine.pk}/").content.decode()
    assert "my question" in html and 'class="flash"' not in html
    forged = client.get(f"/me/conversations/{theirs.pk}/")
    missing = client.get(f"/me/conversations/{uuid.uuid4()}/")
    assert forged.status_code == missing.status_code == 404


def test_staff_and_anonymous_users_have_no_customer_pages(agent: object) -> None:
    assert Client().get("/me/conversations/").status_code == 302
    assert signed_in_client(agent).get("/me/conversations/").status_code == 404


def test_sign_in_sends_each_role_to_its_home(customer: object, agent: object) -> None:
    from tests.factories import PASSWORD

    client = Client()
    response = client.post("/accounts/login/", {"username": "customer", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/me/conversations/"
    client = Client()
    response = client.post("/accounts/login/", {"username": "agent", "password": PASSWORD}, follow=True)
    # Staff first set up two-step sign-in, then land in the console.
    assert response.redirect_chain[-1][0].startswith("/accounts/mfa/setup/")


def test_signed_in_customers_conversation_is_tied_to_their_account(customer: object) -> None:
    from conversations.access import widget_conversation_access

    conversation = services.conversation_start(customer=customer)
    session = {"conversation_id": str(conversation.pk)}
    assert widget_conversation_access(customer, session) == conversation
    from django.contrib.auth.models import AnonymousUser

    assert widget_conversation_access(AnonymousUser(), session) is None


def test_signing_in_mid_chat_starts_a_conversation_in_the_account(customer: object) -> None:
    """An anonymous chat in this browser may be someone else's (a shared computer): it is not
    absorbed into the account that signs in."""
    from django.contrib.auth.models import AnonymousUser

    from conversations.access import widget_conversation_access

    anonymous = services.conversation_start(customer=None)
    session = {"conversation_id": str(anonymous.pk)}
    assert widget_conversation_access(AnonymousUser(), session) == anonymous
    assert widget_conversation_access(customer, session) is None


def test_a_privacy_officers_home_is_the_data_request_queue(privacy_officer: object) -> None:
    response = signed_in_client(privacy_officer).get("/accounts/", follow=True)
    assert response.redirect_chain[-1][0] == "/privacy/officer/"
    assert response.status_code == 200 and "Data requests" in response.content.decode()
