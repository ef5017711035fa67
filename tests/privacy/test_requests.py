"""Data-subject requests: opening, verification links, the officer's queue and decisions, the
deletion and the export they lead to, and the widget's "delete this chat".

Celery runs eagerly here (the tasks are one-line wrappers over the services these tests exercise);
tests/e2e/test_privacy_browser.py drives the whole path through a real worker."""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import re
import time
import uuid
import zipfile
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.core import mail, signing
from django.db import connections
from django.test import Client
from django.utils import timezone

from accounts.models import User, UserSession
from chatbot_site import mail as privacy_mail
from conversations import services as conversation_services
from conversations.models import Conversation, Message
from privacy.data_requests import deletion, export, jobs, lifecycle, links, notify, storage
from privacy.models import DataRequest, DeletionRecord, RequestDetails
from tests.auth import reauthenticated, signed_in_client
from tests.factories import UserFactory, conversation_with
from tests.privacy.scenario import canary
from vault.blind import blind_index
from vault.models import DataKey

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit work (tasks, key destruction) runs as in production

Status = DataRequest.Status


@pytest.fixture(autouse=True)
def _requests_settings(eager_tasks: None, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVACY_AUTO_APPROVE_DELETION = False


def _export_path(message: Any) -> str:
    match = re.search(r"http://testserver(/privacy/exports/[0-9a-f-]+/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def _verify_path(message: Any) -> str:
    match = re.search(r"http://testserver(/privacy/requests/[0-9a-f-]+/verify/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def _visitor_request(client: Client, email: str, kind: str = "deletion") -> Any:
    return client.post("/privacy/requests/new/", {"kind": kind, "email": email})


def _open_and_verify(client: Client, email: str, kind: str = "deletion") -> DataRequest:
    mail.outbox.clear()
    assert _visitor_request(client, email, kind).status_code == 302
    response = client.post(_verify_path(mail.outbox[-1]))
    assert response.status_code == 302, response.content
    return DataRequest.objects.get(pk=response["Location"].split("/")[3])


# --- the form: same answer for everyone, limited ---------------------------------------------------
def test_the_form_answers_known_and_unknown_addresses_alike(customer: User) -> None:
    customer.email = "known@example.com"
    customer.save(update_fields=["email"])
    answers = []
    for email in ("known@example.com", "nobody-here@example.com"):
        client = Client()
        first = _visitor_request(client, email)
        followed = client.get(first["Location"])
        answers.append((first.status_code, first["Location"], followed.status_code, followed.content))
    assert answers[0] == answers[1]
    # Both get the same e-mail (the address may hold a visitor's chat even without an account).
    assert len(mail.outbox) == 2
    assert mail.outbox[0].subject == mail.outbox[1].subject
    assert [m.to for m in mail.outbox] == [["known@example.com"], ["nobody-here@example.com"]]


def _with_statements(call: Callable[[], Any]) -> tuple[Any, list[str]]:
    """What `call` returns, and the SQL statements it runs on every database, in order, without
    their parameters."""
    statements: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        statements.append(f"{context['connection'].alias}: {sql}")
        return execute(sql, params, many, context)

    with ExitStack() as stack:
        for conn in connections.all():
            stack.enter_context(conn.execute_wrapper(record))
        result = call()
    return result, statements


def test_the_form_takes_the_same_path_for_known_and_unknown_addresses(customer: User, settings: Any) -> None:
    """Nothing for a stopwatch to tell apart: known and unknown addresses run the same statements
    on every database (the queued e-mail included), send the same e-mail and get the same answer.
    Checked by what runs, not by timing it, which fails on a busy machine."""
    settings.PRIVACY_REQUEST_RATE_PER_ADDRESS = settings.PRIVACY_REQUEST_RATE_PER_IP = "10000/h"
    customer.email = "timed@example.com"
    customer.save(update_fields=["email"])
    client = Client()
    assert _visitor_request(client, "warm-up@example.com").status_code == 302  # the session exists from now on
    runs: dict[str, list[tuple[int, str, list[str], int]]] = {"known": [], "unknown": []}
    for i in range(2):
        for label, email in (("known", "timed@example.com"), ("unknown", f"ghost{i}@example.com")):
            mail.outbox.clear()
            response, statements = _with_statements(functools.partial(_visitor_request, client, email))
            runs[label].append((response.status_code, response["Location"], statements, len(mail.outbox)))
    assert runs["known"] == runs["unknown"]
    assert runs["known"][0][0] == 302 and runs["known"][0][3] == 1 and runs["known"][0][2]


def test_the_form_is_rate_limited_per_address_and_per_client(settings: Any) -> None:
    settings.PRIVACY_REQUEST_RATE_PER_ADDRESS = "3/h"
    settings.PRIVACY_REQUEST_RATE_PER_IP = "5/h"
    client = Client()
    codes = [_visitor_request(client, "Same@Example.com ").status_code for _ in range(4)]
    assert codes == [302, 302, 302, 429]
    assert (
        "Too many requests" in _visitor_request(Client(), "same@example.com").content.decode()
    )  # any case, any browser
    other = Client(REMOTE_ADDR="10.1.1.1")
    codes = [_visitor_request(other, f"person{i}@example.com").status_code for i in range(6)]
    assert codes == [302] * 5 + [429]
    assert DataRequest.objects.count() == 3 + 5


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"kind": "deletion"},
        {"kind": "deletion", "email": "not-an-address"},
        {"kind": "deletion", "email": "a" * 300 + "@example.com"},
        {"kind": "erase-everything", "email": "x@example.com"},
        {"kind": "deletion", "email": "x@example.com\r\nBcc: victim@example.com"},
        {"kind": ["deletion", "export"], "email": "\x00@example.com"},
    ],
)
def test_malformed_requests_are_refused_with_the_form_and_nothing_is_stored(data: dict) -> None:
    response = Client().post("/privacy/requests/new/", data)
    assert response.status_code == 200 and b'role="alert"' in response.content
    assert not DataRequest.objects.exists() and not mail.outbox


def test_staff_cannot_use_the_customer_form(agent: User) -> None:
    response = signed_in_client(agent).post("/privacy/requests/new/", {"kind": "deletion"})
    assert response.status_code == 403 and not DataRequest.objects.exists()


# --- verification links ------------------------------------------------------------------------
def _unverified(client: Client, email: str) -> tuple[DataRequest, str]:
    mail.outbox.clear()
    _visitor_request(client, email)
    path = _verify_path(mail.outbox[-1])
    return DataRequest.objects.get(pk=path.split("/")[3]), path


def test_a_verification_link_works_once_and_starts_the_clock() -> None:
    client = Client()
    request, path = _unverified(client, "once@example.com")
    page = client.get(path)  # a mail scanner opening the link uses nothing up
    assert page.status_code == 200 and b"Confirm request" in page.content
    response = client.post(path)
    assert response.status_code == 302 and response["Location"].startswith(f"/privacy/requests/{request.pk}/status/")
    request.refresh_from_db()
    assert request.status == Status.RECEIVED and request.verified_by == "email"
    assert request.due_at == request.verified_at + dt.timedelta(days=30)
    status = Client().get(response["Location"])  # bookmarkable: any browser
    assert (
        b"Bookmark this page" in status.content
        and b"Received" in status.content
        and request.due_at.strftime("%-d %B %Y").encode() in status.content
    )
    again = client.post(path)
    assert again.status_code == 410 and b"already been used" in again.content
    assert client.get(path).status_code == 410


def test_an_expired_verification_link_is_refused(monkeypatch: Any) -> None:
    client = Client()
    request, path = _unverified(client, "late@example.com")
    later = time.time() + 31 * 60
    monkeypatch.setattr(signing.time, "time", lambda: later)
    response = client.post(path)
    assert response.status_code == 410 and b"This link has expired" in response.content
    assert DataRequest.objects.get(pk=request.pk).status == Status.UNVERIFIED


def test_a_tampered_verification_link_is_refused() -> None:
    client = Client()
    request, path = _unverified(client, "tamper@example.com")
    token = path.rstrip("/").rsplit("/", 1)[1]
    for forged in (token[:-1] + ("A" if token[-1] != "A" else "B"), token[:20], "x" * 5000, "..%2F..", "a:b:c"):
        response = client.post(f"/privacy/requests/{request.pk}/verify/{forged}/")
        assert response.status_code in (400, 404), forged
        if response.status_code == 400:
            assert b"This link is damaged" in response.content
    assert DataRequest.objects.get(pk=request.pk).status == Status.UNVERIFIED


def test_a_link_for_another_address_is_refused() -> None:
    client = Client()
    mine, my_path = _unverified(client, "mine@example.com")
    theirs, _ = _unverified(client, "theirs@example.com")
    token = my_path.rstrip("/").rsplit("/", 1)[1]
    response = client.post(f"/privacy/requests/{theirs.pk}/verify/{token}/")
    assert response.status_code == 400 and b"belongs to another request" in response.content
    # A token signed for the right request but another address (the address tag differs) too.
    forged = signing.dumps({"r": str(theirs.pk), "a": mine.details.email_index[:16]}, salt="privacy.request.verify")
    response = client.post(f"/privacy/requests/{theirs.pk}/verify/{forged}/")
    assert response.status_code == 400 and b"belongs to another request" in response.content
    assert DataRequest.objects.get(pk=theirs.pk).status == Status.UNVERIFIED


def test_unconfirmed_requests_expire_and_their_address_is_shredded() -> None:
    request, _ = _unverified(Client(), "forget@example.com")
    key = request.details.data_key_id
    assert jobs.data_requests_expire_unverified(now=timezone.now() + dt.timedelta(minutes=31)) == 1
    request.refresh_from_db()
    assert request.status == Status.EXPIRED
    assert not RequestDetails.objects.exists() and not DataKey.objects.filter(pk=key).exists()


def test_the_status_page_is_only_for_the_requester(customer: User) -> None:
    client = Client()
    request = _open_and_verify(client, "status@example.com")
    # The plain address is for the signed-in account it is about only: visitors are sent to sign in.
    for visitor in (client, Client()):
        response = visitor.get(f"/privacy/requests/{request.pk}/")
        assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    assert signed_in_client(customer).get(f"/privacy/requests/{request.pk}/").status_code == 404
    assert signed_in_client(customer).get(f"/privacy/requests/{uuid.uuid4()}/").status_code == 404
    link = links.status_path(request)
    assert Client().get(link).status_code == 200
    assert Client().get(link.replace(str(request.pk), str(uuid.uuid4()))).status_code == 400
    mine = _account_request(customer, "deletion")
    assert signed_in_client(customer).get(f"/privacy/requests/{mine.pk}/").status_code == 200


# --- due dates and the officer's queue ------------------------------------------------------------
@pytest.mark.parametrize(
    ("received", "due"),
    [
        ("2027-01-31T10:00:00+00:00", "2027-03-02T10:00:00+00:00"),
        ("2028-01-31T10:00:00+00:00", "2028-03-01T10:00:00+00:00"),  # leap year
        ("2026-12-15T23:30:00+00:00", "2027-01-14T23:30:00+00:00"),  # year end
        ("2027-02-28T00:00:00+00:00", "2027-03-30T00:00:00+00:00"),
        ("2027-04-30T12:00:00+00:00", "2027-05-30T12:00:00+00:00"),
    ],
)
def test_due_dates_are_thirty_days_after_receipt_across_month_ends(received: str, due: str) -> None:
    assert lifecycle.due_date(dt.datetime.fromisoformat(received)) == dt.datetime.fromisoformat(due)


def _received_request(days_ago: int, kind: str = "deletion", status: str = Status.RECEIVED) -> DataRequest:
    received = timezone.now() - dt.timedelta(days=days_ago)
    request = DataRequest.objects.create(
        kind=kind, status=status, requested_at=received, verified_at=received, due_at=lifecycle.due_date(received)
    )
    RequestDetails.objects.create(request=request, email=f"r{days_ago}@example.com", reason="")
    return request


def test_the_queue_shows_overdue_requests_first_then_by_due_date(privacy_officer: User) -> None:
    fresh, older, overdue_a_bit, overdue_long = (_received_request(d) for d in (1, 20, 31, 45))
    in_review = _received_request(40, status=Status.IN_REVIEW)
    _received_request(50, status=Status.DONE)  # closed: not in the open list
    client = signed_in_client(privacy_officer)
    response = client.get("/privacy/officer/")
    assert response.status_code == 200
    open_table = response.content.decode().split('id="open-requests"')[1].split("</table>")[0]
    order = re.findall(r'data-id="([0-9a-f-]+)"', open_table)
    assert order == [str(r.pk) for r in (overdue_long, in_review, overdue_a_bit, older, fresh)]
    assert open_table.count("Overdue</span>") == 3


def test_the_queue_page_runs_a_fixed_number_of_queries(
    privacy_officer: User, django_assert_max_num_queries: Any
) -> None:
    for days in range(30):
        _received_request(days)
    client = signed_in_client(privacy_officer)
    client.get("/privacy/officer/")
    with django_assert_max_num_queries(12):
        assert client.get("/privacy/officer/").status_code == 200


def test_only_privacy_officers_reach_the_queue(customer: User, agent: User, supervisor: User) -> None:
    request = _received_request(1)
    assert Client().get("/privacy/officer/").status_code == 302
    for user in (customer, agent, supervisor):
        client = signed_in_client(user)
        assert client.get("/privacy/officer/").status_code == 403
        assert client.get(f"/privacy/officer/requests/{request.pk}/").status_code == 403


def test_an_officer_without_a_verified_second_factor_is_sent_to_it(privacy_officer: User) -> None:
    client = signed_in_client(privacy_officer, verified=False)
    assert "/accounts/mfa/" in client.get("/privacy/officer/")["Location"]
    assert client.get("/privacy/").status_code == 200  # the notice stays readable


def test_the_officer_sees_counts_never_content(privacy_officer: User, customer: User) -> None:
    secret = canary("officer-view")
    customer.email = "counted@example.com"
    customer.save(update_fields=["email"])
    conversation_with(customer, f"my diagnosis is {secret}")
    request = _account_request(customer, "deletion")
    page = signed_in_client(privacy_officer).get(f"/privacy/officer/requests/{request.pk}/").content.decode()
    assert secret not in page and "counted@example.com" not in page and "c•••@example.com" in page
    assert re.search(r"<dt>Messages</dt><dd>2</dd>", page)  # the customer's and the bot's
    assert DataRequest.objects.get(pk=request.pk).status == Status.RECEIVED  # reading changes nothing
    officer = signed_in_client(privacy_officer)
    officer.post(f"/privacy/officer/requests/{request.pk}/", {"action": "start_review"})
    assert DataRequest.objects.get(pk=request.pk).status == Status.IN_REVIEW
    status = signed_in_client(customer).get(f"/privacy/requests/{request.pk}/").content.decode()
    assert "In review since" in status


def test_the_decision_form_asks_for_reauthentication_before_anything_is_typed(privacy_officer: User) -> None:
    request = _received_request(2)
    page = signed_in_client(privacy_officer).get(f"/privacy/officer/requests/{request.pk}/").content.decode()
    assert "Confirm it's you" in page and 'name="reason"' not in page
    page = (
        reauthenticated(signed_in_client(privacy_officer))
        .get(f"/privacy/officer/requests/{request.pk}/")
        .content.decode()
    )
    assert 'name="reason"' in page


def _account_request(user: User, kind: str) -> DataRequest:
    """A signed-in customer asks from "My data", having just re-entered their password."""
    response = reauthenticated(signed_in_client(user)).post("/privacy/requests/new/", {"kind": kind})
    assert response.status_code == 302, response.content
    return DataRequest.objects.get(pk=response["Location"].split("/")[3])


def test_approving_needs_a_fresh_reauthentication(privacy_officer: User) -> None:
    request = _received_request(2)
    client = signed_in_client(privacy_officer)
    response = client.post(f"/privacy/officer/requests/{request.pk}/", {"action": "approve"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/reauth/")
    assert DataRequest.objects.get(pk=request.pk).status == Status.RECEIVED


def test_denying_needs_a_reason_and_tells_the_customer(privacy_officer: User) -> None:
    request = _received_request(2)
    client = reauthenticated(signed_in_client(privacy_officer))
    response = client.post(f"/privacy/officer/requests/{request.pk}/", {"action": "deny", "reason": "  "})
    assert response.status_code == 200 and b"Give the reason" in response.content
    client.post(
        f"/privacy/officer/requests/{request.pk}/", {"action": "deny", "reason": "We must keep it: open fraud case."}
    )
    request.refresh_from_db()
    assert request.status == Status.DENIED and request.decided_by == privacy_officer
    assert mail.outbox[-1].to == ["r2@example.com"] and "open fraud case" in mail.outbox[-1].body
    again = client.post(f"/privacy/officer/requests/{request.pk}/", {"action": "approve"}, follow=True)
    assert b"already been decided" in again.content
    assert DataRequest.objects.get(pk=request.pk).status == Status.DENIED


@pytest.mark.parametrize(
    "data",
    [{}, {"action": "delete-all"}, {"action": "deny", "reason": "x" * 2001}, {"action": ["approve", "deny"]}],
)
def test_malformed_decisions_change_nothing(privacy_officer: User, data: dict) -> None:
    request = _received_request(2)
    response = reauthenticated(signed_in_client(privacy_officer)).post(f"/privacy/officer/requests/{request.pk}/", data)
    assert response.status_code == 200
    assert DataRequest.objects.get(pk=request.pk).status == Status.RECEIVED  # not decided


@pytest.mark.parametrize("forged", ["nope", str(uuid.uuid4()), "1' OR '1'='1", "%00", "9" * 400])
def test_forged_request_ids_are_not_found(privacy_officer: User, forged: str) -> None:
    client = reauthenticated(signed_in_client(privacy_officer))
    assert client.get(f"/privacy/officer/requests/{forged}/").status_code == 404
    assert client.post(f"/privacy/officer/requests/{forged}/", {"action": "approve"}).status_code == 404


# --- carrying out a deletion -------------------------------------------------------------------------
def _with_everything(user: User, tag: str) -> list[str]:
    """An account with names, address, two chats (one with a note), a session and a failed sign-in."""
    from axes.models import AccessAttempt

    secrets = [canary(f"{tag}-{i}") for i in range(4)]
    user.first_name, user.last_name, user.email = secrets[0], secrets[1], f"{tag}@example.com"
    user.save(update_fields=["first_name", "last_name", "email"])
    first = conversation_with(user, f"card {secrets[2]}")
    conversation_with(user, f"diagnosis {secrets[3]}")
    conversation_services.note_add(
        conversation_id=first.pk, author=UserFactory(role=User.Role.SUPERVISOR), client_id=uuid.uuid4(), body="vip"
    )
    signed_in_client(user)  # a session
    AccessAttempt.objects.create(username=user.username, ip_address="10.0.0.1", failures_since_start=1)
    return secrets


def test_an_approved_deletion_removes_everything_of_the_subject_and_nothing_else(
    privacy_officer: User, customer: User, other_customer: User
) -> None:
    _with_everything(customer, "leaver")
    stays = _with_everything(other_customer, "stayer")
    keys_before = DataKey.objects.count()
    their_keys = {
        customer.data_key_id,
        *Conversation.objects.filter(customer=customer).values_list("data_key_id", flat=True),
    }
    request = _account_request(customer, "deletion")
    assert request.subject == customer
    reauthenticated(signed_in_client(privacy_officer)).post(
        f"/privacy/officer/requests/{request.pk}/", {"action": "approve", "reason": ""}
    )
    request.refresh_from_db()
    assert request.status == Status.DONE and request.completed_at and request.confirmation_sent_at
    assert request.counts == {
        "conversations": 2,
        "messages": 4,
        "internal_notes": 1,
        "failed_sign_ins": 1,
        "accounts": 1,
        "sessions": 2,  # both of the account's, the browser that asked included
        "other_requests": 0,
    }
    assert not User.objects.filter(pk=customer.pk).exists()
    assert not Conversation.objects.filter(customer_id=customer.pk).exists()
    assert not UserSession.objects.filter(user_id=customer.pk).exists()
    assert not DataKey.objects.filter(pk__in=their_keys).exists()
    # The request's own details (the address) are gone too, after the confirmation.
    assert not RequestDetails.objects.filter(request=request).exists()
    assert "has been carried out" in mail.outbox[-1].body and mail.outbox[-1].to == ["leaver@example.com"]
    assert mail.outbox[-1].body.count("has been carried out") == 1
    record = DeletionRecord.objects.get(request_id=request.pk)
    assert record.email_index == blind_index("email", "leaver@example.com")
    assert record.counts == request.counts and record.approved_at and record.verified_at
    # The other customer is untouched.
    other_customer.refresh_from_db()
    assert other_customer.first_name == stays[0]
    assert {stays[2], stays[3]} <= {
        m.body.split()[-1] for m in Message.objects.filter(conversation__customer=other_customer)
    }
    assert DataKey.objects.count() == keys_before - len(their_keys)
    # Running the task again changes nothing and sends nothing.
    sent = len(mail.outbox)
    deletion.deletion_execute(request_id=request.pk)
    assert len(mail.outbox) == sent


def test_a_conversation_on_legal_hold_survives_a_deletion(customer: User, supervisor: User, settings: Any) -> None:
    settings.PRIVACY_AUTO_APPROVE_DELETION = True
    customer.email = "held@example.com"
    customer.save(update_fields=["email"])
    held = conversation_with(customer, "disputed payment")
    conversation_services.conversation_hold(conversation_id=held.pk, by=supervisor, reason="court order 12")
    client = reauthenticated(signed_in_client(customer))
    response = client.post("/privacy/requests/new/", {"kind": "deletion", "next": "/privacy/requests/new/"})
    # Approved at once: the page does not depend on the session the deletion ends.
    assert response.status_code == 200 and b"Your data is being deleted" in response.content
    request = DataRequest.objects.get()
    assert request.status == Status.DONE and request.decided_by is None
    assert request.counts["conversations_kept_on_legal_hold"] == 1
    assert "We had to keep 1 conversation" in mail.outbox[-1].body
    assert Conversation.objects.filter(pk=held.pk).exists()


def test_a_visitors_deletion_covers_the_chat_in_their_browser_and_their_session(customer: User) -> None:
    secret = canary("visitor-del")
    visitor = Client()
    visitor.get("/chat/")
    conversation = conversation_with(None, f"my card {secret}")
    session = visitor.session
    session["conversation_id"] = str(conversation.pk)
    session.save()
    someone_elses = conversation_with(None, "not theirs")
    request = _open_and_verify(visitor, "visitor@example.com")
    assert request.subject is None and request.counts["conversations"] == 1
    lifecycle.deletion_approve(request_id=request.pk, officer=customer, reason="")
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert Conversation.objects.filter(pk=someone_elses.pk).exists()
    assert not Session.objects.filter(session_key=session.session_key).exists()


# --- exports ------------------------------------------------------------------------------------------
def _export_for(customer: User) -> tuple[DataRequest, str]:
    """A signed-in customer's export, and its download link from the status page (an account's
    export link is never e-mailed: the account's address was never verified)."""
    if not customer.email:
        customer.email = f"{customer.username}@example.com"
        customer.save(update_fields=["email"])
    client = reauthenticated(signed_in_client(customer))
    response = client.post("/privacy/requests/new/", {"kind": "export"})
    assert response.status_code == 302
    request = DataRequest.objects.get(pk=response["Location"].split("/")[3])
    assert request.status == Status.DONE and request.verified_by == "account"
    page = client.get(response["Location"]).content.decode()
    return request, re.search(r'href="http://testserver(/privacy/exports/[^"]+)"', page).group(1)


def test_an_export_holds_exactly_the_subjects_data(customer: User, other_customer: User) -> None:
    mine = _with_everything(customer, "exporter")
    theirs = _with_everything(other_customer, "bystander")
    request, link = _export_for(customer)
    path = storage.export_path(request)
    assert path.exists() and all(s.encode() not in path.read_bytes() for s in mine)  # encrypted at rest
    client = Client()
    assert b"Download" in client.get(link).content
    response = client.post(link)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["data.json", "transcript.html"]
    data = json.loads(archive.read("data.json"))
    html = archive.read("transcript.html").decode()
    assert data["account"]["email"] == "exporter@example.com" and data["account"]["first_name"] == mine[0]
    assert len(data["conversations"]) == 2
    texts = [m["text"] for c in data["conversations"] for m in c["messages"]]
    assert any(mine[2] in t for t in texts) and any(mine[3] in t for t in texts)
    for secret in mine:
        assert secret in html
    everything = json.dumps(data) + html
    for secret in theirs:
        assert secret not in everything
    assert "bystander" not in everything
    # Once: the second download fails, the file is gone, the use is recorded.
    again = client.post(link)
    assert again.status_code == 410 and b"already been downloaded" in again.content
    assert not path.exists()
    assert DataRequest.objects.get(pk=request.pk).export_downloaded_at is not None


def test_an_expired_or_tampered_export_link_fails_with_a_clear_page(customer: User, monkeypatch: Any) -> None:
    request, link = _export_for(customer)
    token = link.rstrip("/").rsplit("/", 1)[1]
    tampered = link.replace(token, token[:-2] + ("xx" if not token.endswith("xx") else "yy"))
    response = Client().post(tampered)
    assert response.status_code == 400 and b"This link is damaged" in response.content
    other = link.replace(str(request.pk), str(uuid.uuid4()))
    assert b"belongs to another request" in Client().post(other).content
    later = time.time() + 7 * 86400 + 60
    monkeypatch.setattr(signing.time, "time", lambda: later)
    response = Client().post(link)
    assert response.status_code == 410 and b"This link has expired" in response.content
    assert DataRequest.objects.get(pk=request.pk).export_downloaded_at is None


def test_undownloaded_exports_are_deleted_when_their_link_expires(customer: User) -> None:
    request, _ = _export_for(customer)
    assert jobs.exports_expire(now=timezone.now() + dt.timedelta(days=6)) == 0
    assert jobs.exports_expire(now=timezone.now() + dt.timedelta(days=8)) == 1
    assert not storage.export_path(request).exists()


def test_exporting_from_an_account_needs_a_fresh_password(customer: User) -> None:
    client = signed_in_client(customer)
    response = client.post("/privacy/requests/new/", {"kind": "export"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/reauth/")
    assert not DataRequest.objects.exists()


# --- the widget's "delete this chat" -----------------------------------------------------------------
def test_a_visitor_deletes_the_chat_in_their_browser_at_once() -> None:
    visitor = Client()
    visitor.get("/chat/")
    conversation = conversation_with(None, "delete me please")
    key = conversation.data_key_id
    session = visitor.session
    session["conversation_id"] = str(conversation.pk)
    session.save()
    page = visitor.get("/privacy/chat/delete/")
    assert b"will be deleted at once" in page.content
    response = visitor.post("/privacy/chat/delete/")
    assert response.status_code == 200 and b"Your chat was deleted" in response.content
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert not Message.objects.filter(conversation_id=conversation.pk).exists()
    assert not DataKey.objects.filter(pk=key).exists()
    record = DeletionRecord.objects.get()
    assert record.origin == "widget" and record.email_index == "" and record.counts["messages"] == 2
    assert "conversation_id" not in visitor.session
    assert visitor.post("/privacy/chat/delete/").status_code == 200  # again: nothing left, no error


def test_the_widget_delete_never_reaches_another_browsersconversation_with(customer: User) -> None:
    theirs = conversation_with(customer, "mine")
    intruder = Client()
    intruder.get("/chat/")
    session = intruder.session
    session["conversation_id"] = str(theirs.pk)  # a forged session value
    session.save()
    intruder.post("/privacy/chat/delete/")
    assert Conversation.objects.filter(pk=theirs.pk).exists()


def test_closed_requests_forget_who_asked_once_they_no_longer_need_to(customer: User, privacy_officer: User) -> None:
    downloaded, link = _export_for(customer)
    Client().post(link)
    waiting, _ = _export_for(UserFactory(username="waiting", email="waiting@example.com"))
    denied = _received_request(3)
    lifecycle.deletion_deny(request_id=denied.pk, officer=privacy_officer, reason="fraud case open")
    now = timezone.now()
    assert jobs.data_requests_forget_closed(now=now) == 1  # the downloaded export's only
    assert not RequestDetails.objects.filter(request=downloaded).exists()
    assert jobs.data_requests_forget_closed(now=now + dt.timedelta(days=8)) == 1  # the export past its link
    assert not storage.export_path(waiting).exists()
    assert RequestDetails.objects.filter(request=denied).exists()
    assert jobs.data_requests_forget_closed(now=now + dt.timedelta(days=91)) == 1
    assert not RequestDetails.objects.exists()


# --- found in review -------------------------------------------------------------------------------------
def test_an_email_link_never_reaches_the_account_that_typed_the_address(customer: User) -> None:
    """Sign-up does not verify addresses: whoever reads the mailbox must not get the account's data."""
    secret = canary("typed-address")
    customer.email = "bob@example.com"  # typed by "customer", but the mailbox is Bob's
    customer.save(update_fields=["email"])
    conversation_with(customer, f"my secret {secret}")
    bob = Client()
    request = _open_and_verify(bob, "bob@example.com", kind="export")
    assert request.subject is None and request.counts["conversations"] == 0
    status = bob.get(links.status_path(request))
    assert b"An account uses this address" in status.content  # only the mailbox's owner has this page
    archive = zipfile.ZipFile(io.BytesIO(bob.post(_export_path(mail.outbox[-1])).content))
    assert secret not in archive.read("data.json").decode() and "customer" not in archive.read("data.json").decode()
    deletion = _open_and_verify(bob, "bob@example.com")
    assert b"An account uses this address" in bob.get(links.status_path(deletion)).content
    lifecycle.deletion_approve(request_id=deletion.pk, officer=UserFactory(role=User.Role.PRIVACY_OFFICER), reason="")
    assert (
        User.objects.filter(pk=customer.pk).exists()
        and Message.objects.filter(conversation__customer=customer).exists()
    )


def test_an_account_export_is_never_emailed_as_a_link(customer: User) -> None:
    customer.email = "unverified@example.com"
    customer.save(update_fields=["email"])
    request = _account_request(customer, "export")
    assert "/privacy/exports/" not in mail.outbox[-1].body and 'open "My data"' in mail.outbox[-1].body
    page = signed_in_client(customer).get(f"/privacy/requests/{request.pk}/")
    assert b"/privacy/exports/" in page.content  # the signed-in owner downloads from the status page


def test_the_widget_delete_keeps_a_conversation_on_legal_hold(supervisor: User) -> None:
    visitor = Client()
    visitor.get("/chat/")
    held = conversation_with(None, "disputed payment")
    conversation_services.conversation_hold(conversation_id=held.pk, by=supervisor, reason="court order 7")
    session = visitor.session
    session["conversation_id"] = str(held.pk)
    session.save()
    assert b"legal hold" in visitor.get("/privacy/chat/delete/").content
    response = visitor.post("/privacy/chat/delete/")
    assert b"legal hold" in response.content and Conversation.objects.filter(pk=held.pk).exists()


def test_the_widget_delete_leaves_a_signed_in_customers_conversations_to_a_request(customer: User) -> None:
    client = signed_in_client(customer)
    conversation = conversation_with(customer, "mine")
    session = client.session
    session["conversation_id"] = str(conversation.pk)
    session.save()
    assert b"My data" in client.get("/privacy/chat/delete/").content
    client.post("/privacy/chat/delete/")
    assert Conversation.objects.filter(pk=conversation.pk).exists()


def test_the_delete_page_may_be_framed_where_the_widget_may() -> None:
    def frame_ancestors(path: str) -> str:
        policy = Client().get(path)["Content-Security-Policy"]
        return next(d for d in policy.split(";") if "frame-ancestors" in d).strip()

    assert frame_ancestors("/privacy/chat/delete/") == frame_ancestors("/chat/") != "frame-ancestors 'none'"
    assert frame_ancestors("/privacy/requests/new/") == "frame-ancestors 'none'"


def test_an_export_link_is_sent_on_the_retry_after_the_relay_failed(customer: User, monkeypatch: Any) -> None:
    visitor = Client()
    calls = []
    real_send = mail.send_mail

    def flaky(*args: Any, **kwargs: Any) -> int:
        calls.append(args[0])
        if len(calls) == 2:  # the verification goes through; the "ready" e-mail fails once
            raise ConnectionRefusedError("relay down")
        return real_send(*args, **kwargs)

    monkeypatch.setattr(privacy_mail, "send_mail", flaky)
    request = _open_and_verify(visitor, "flaky@example.com", kind="export")
    # The first "ready" e-mail failed; Celery's retry (run at once here: eager) sent it.
    assert [c for c in calls if "ready" in c] == ["Your data is ready to download"] * 2
    assert "Your data is ready" in mail.outbox[-1].subject and "/privacy/exports/" in mail.outbox[-1].body
    request.refresh_from_db()
    assert request.status == Status.DONE and request.confirmation_sent_at is not None
    export.export_build(request_id=request.pk)  # a duplicate delivery, or the hourly re-drive
    assert sum("ready" in m.subject for m in mail.outbox) == 1


def test_a_refused_address_never_reaches_the_logs(monkeypatch: Any, caplog: Any) -> None:
    import smtplib

    def refuse(*args: Any, **kwargs: Any) -> int:
        raise smtplib.SMTPRecipientsRefused({"ghost@example.com": (550, b"5.1.1 <ghost@example.com> unknown")})

    monkeypatch.setattr(privacy_mail, "send_mail", refuse)
    _visitor_request(Client(), "ghost@example.com")
    assert "refused" in caplog.text and "ghost" not in caplog.text


def test_a_temporary_relay_failure_is_retried_without_the_address(monkeypatch: Any) -> None:
    import smtplib

    def busy(*args: Any, **kwargs: Any) -> int:
        raise smtplib.SMTPRecipientsRefused({"busy@example.com": (451, b"try later busy@example.com")})

    monkeypatch.setattr(privacy_mail, "send_mail", busy)
    request = DataRequest.objects.create(kind="export")
    RequestDetails.objects.create(request=request, email="busy@example.com", reason="")
    with pytest.raises(privacy_mail.MailTemporaryFailure) as failure:
        notify.verification_send(request_id=request.pk)
    assert "busy" not in str(failure.value) and failure.value.__suppress_context__


def test_two_runs_of_a_deletion_send_one_confirmation(customer: User, privacy_officer: User) -> None:
    customer.email = "twice@example.com"
    customer.save(update_fields=["email"])
    request = _account_request(customer, "deletion")
    lifecycle.deletion_approve(request_id=request.pk, officer=privacy_officer, reason="")
    assert sum("has been deleted" in m.subject for m in mail.outbox) == 1
    # A second run (a redelivery) finds details left (as if the first died before forgetting them):
    # the e-mail is marked sent, so it forgets them without sending again.
    RequestDetails.objects.create(request=request, email="twice@example.com", reason="")
    deletion.deletion_execute(request_id=request.pk)
    assert sum("has been deleted" in m.subject for m in mail.outbox) == 1
    assert not RequestDetails.objects.filter(request=request).exists()


def test_a_deletion_closes_the_subjects_other_requests(customer: User, privacy_officer: User) -> None:
    customer.email = "many@example.com"
    customer.save(update_fields=["email"])
    first = _account_request(customer, "deletion")
    assert _account_request(customer, "deletion") == first  # no duplicate while one is open
    export = _account_request(customer, "export")
    visitor = Client()
    by_mail = _open_and_verify(visitor, "many@example.com", kind="export")
    lifecycle.deletion_approve(request_id=first.pk, officer=privacy_officer, reason="")
    first.refresh_from_db()
    assert first.counts["other_requests"] == 1  # the account's export
    assert not RequestDetails.objects.filter(request=export).exists() and not storage.export_path(export).exists()
    # A request made by e-mail is not the account's, whatever the (unverified) account address says.
    assert RequestDetails.objects.filter(request=by_mail).exists() and storage.export_path(by_mail).exists()
    # Deciding a closed request is refused cleanly, not a crash.
    response = reauthenticated(signed_in_client(privacy_officer)).post(
        f"/privacy/officer/requests/{first.pk}/", {"action": "deny", "reason": "x"}, follow=True
    )
    assert response.status_code == 200 and b"already been decided" in response.content


def test_a_visitors_deletion_never_closes_an_accounts_request_for_the_same_address(
    customer: User, privacy_officer: User
) -> None:
    customer.email = "dana@example.com"
    customer.save(update_fields=["email"])
    conversation_with(customer, "my account chat")
    mine = _account_request(customer, "deletion")
    visitor = _open_and_verify(Client(), "dana@example.com")
    lifecycle.deletion_approve(request_id=visitor.pk, officer=privacy_officer, reason="")
    mine.refresh_from_db()
    assert mine.status == Status.RECEIVED and RequestDetails.objects.filter(request=mine).exists()
    lifecycle.deletion_approve(request_id=mine.pk, officer=privacy_officer, reason="")
    assert not User.objects.filter(pk=customer.pk).exists()


def test_someone_elses_visitor_request_for_my_address_is_left_alone(privacy_officer: User) -> None:
    """Two browsers, one address: a deletion covers another request only if that one's chat is gone."""
    mine, theirs = Client(), Client()
    for client in (mine, theirs):
        client.get("/chat/")
        conversation = conversation_with(None, "hello")
        session = client.session
        session["conversation_id"] = str(conversation.pk)
        session.save()
    first = _open_and_verify(mine, "shared@example.com")
    second = _open_and_verify(theirs, "shared@example.com")
    lifecycle.deletion_approve(request_id=first.pk, officer=privacy_officer, reason="")
    second.refresh_from_db()
    assert second.status == Status.RECEIVED and second.counts.get("covered_by_another_request") is None
    assert Conversation.objects.count() == 1


def test_a_visitors_deletion_removes_their_earlier_export() -> None:
    visitor = Client()
    export = _open_and_verify(visitor, "earlier@example.com", kind="export")
    link = _export_path(mail.outbox[-1])
    deletion = _open_and_verify(visitor, "earlier@example.com")
    lifecycle.deletion_approve(request_id=deletion.pk, officer=UserFactory(role=User.Role.PRIVACY_OFFICER), reason="")
    assert not storage.export_path(export).exists()
    assert Client().post(link).status_code == 410


def test_stuck_requests_are_sent_to_a_worker_again(customer: User, privacy_officer: User) -> None:
    stuck = _received_request(1)
    DataRequest.objects.filter(pk=stuck.pk).update(status=Status.APPROVED, decided_at=timezone.now())
    assert jobs.data_requests_redrive() == 0  # not yet: a worker may be on it
    assert jobs.data_requests_redrive(now=timezone.now() + dt.timedelta(minutes=16)) == 1  # eager: runs now
    stuck.refresh_from_db()
    assert stuck.status == Status.DONE and not RequestDetails.objects.filter(request=stuck).exists()


def test_an_export_holds_the_accounts_records_and_withholds_staff_notes_by_default(
    customer: User, settings: Any
) -> None:
    from axes.models import AccessAttempt

    _with_everything(customer, "records")
    AccessAttempt.objects.filter(username=customer.username).update(user_agent="FailBrowser/1")
    client = Client()
    request, link = _export_for(customer)
    data = json.loads(zipfile.ZipFile(io.BytesIO(client.post(link).content)).read("data.json"))
    account = data["account"]
    assert len(account["sessions"]) >= 1 and account["failed_sign_ins"][0]["browser"] == "FailBrowser/1"
    assert [r["kind"] for r in data["data_requests"]] == ["export"]
    notes = [c["staff_notes"] for c in data["conversations"]]
    assert {"count": 1, "content": export.NOTES_WITHHELD} in notes and "vip" not in json.dumps(data)
    settings.PRIVACY_EXPORT_STAFF_NOTES = True
    _, link = _export_for(customer)
    data = json.loads(zipfile.ZipFile(io.BytesIO(client.post(link).content)).read("data.json"))
    assert any(
        n and n[0]["text"] == "vip" for n in (c["staff_notes"] for c in data["conversations"]) if isinstance(n, list)
    )


def test_a_visitor_confirming_an_auto_approved_deletion_gets_a_page_not_an_error(settings: Any) -> None:
    settings.PRIVACY_AUTO_APPROVE_DELETION = True
    visitor = Client()
    visitor.get("/chat/")
    _visitor_request(visitor, "quick@example.com")
    response = visitor.post(_verify_path(mail.outbox[-1]))
    assert response.status_code == 200 and b"Your data is being deleted" in response.content
    assert DataRequest.objects.get().status == Status.DONE


def test_a_run_that_did_not_claim_the_confirmation_keeps_the_address_for_the_one_that_did(
    customer: User, privacy_officer: User
) -> None:
    customer.email = "claimed@example.com"
    customer.save(update_fields=["email"])
    request = _account_request(customer, "deletion")
    DataRequest.objects.filter(pk=request.pk).update(confirmation_claimed_at=timezone.now())  # another run is sending
    lifecycle.deletion_approve(request_id=request.pk, officer=privacy_officer, reason="")
    request.refresh_from_db()
    assert request.status == Status.DONE and request.confirmation_sent_at is None
    assert RequestDetails.objects.filter(request=request).exists() and not any(
        "deleted" in m.subject for m in mail.outbox
    )
    # That run died: its claim goes stale and the re-drive's run sends the confirmation, then forgets.
    DataRequest.objects.filter(pk=request.pk).update(
        confirmation_claimed_at=timezone.now() - dt.timedelta(minutes=11),
        completed_at=timezone.now() - dt.timedelta(minutes=20),
    )
    assert jobs.data_requests_redrive() == 1
    assert sum("has been deleted" in m.subject for m in mail.outbox) == 1
    assert not RequestDetails.objects.filter(request=request).exists()


def test_a_crash_while_sending_leaves_the_email_to_be_sent_later(customer: User, monkeypatch: Any) -> None:
    def crash(*args: Any, **kwargs: Any) -> int:
        raise SystemExit("worker killed")

    request = DataRequest.objects.create(kind="export", status=Status.DONE, export_ready_at=timezone.now())
    RequestDetails.objects.create(request=request, email="later@example.com", reason="")
    monkeypatch.setattr(privacy_mail, "send_mail", crash)
    with pytest.raises(SystemExit):
        notify.export_link_send(request=DataRequest.objects.select_related("details").get(pk=request.pk))
    request.refresh_from_db()
    assert request.confirmation_claimed_at is None and request.confirmation_sent_at is None
    monkeypatch.undo()
    DataRequest.objects.filter(pk=request.pk).update(export_ready_at=timezone.now() - dt.timedelta(minutes=20))
    assert jobs.data_requests_redrive() == 1
    assert mail.outbox[-1].subject == "Your data is ready to download"


def test_a_denial_answers_even_with_the_broker_down_and_is_sent_later(privacy_officer: User, monkeypatch: Any) -> None:
    from privacy import tasks

    request = _received_request(2)

    def down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.denial_send, "delay", down)
    response = reauthenticated(signed_in_client(privacy_officer)).post(
        f"/privacy/officer/requests/{request.pk}/", {"action": "deny", "reason": "must keep it"}
    )
    assert response.status_code == 302 and DataRequest.objects.get(pk=request.pk).status == Status.DENIED
    monkeypatch.undo()
    assert jobs.data_requests_redrive(now=timezone.now() + dt.timedelta(minutes=16)) == 1
    assert "must keep it" in mail.outbox[-1].body


def test_start_review_is_for_deletions_only(privacy_officer: User) -> None:
    export = _received_request(1, kind="export")
    signed_in_client(privacy_officer).post(f"/privacy/officer/requests/{export.pk}/", {"action": "start_review"})
    assert DataRequest.objects.get(pk=export.pk).status == Status.RECEIVED


def test_an_accounts_denial_reason_stays_behind_sign_in(customer: User, privacy_officer: User) -> None:
    customer.email = "typed@example.com"
    customer.save(update_fields=["email"])
    request = _account_request(customer, "deletion")
    lifecycle.deletion_deny(request_id=request.pk, officer=privacy_officer, reason="Open mortgage dispute 4471")
    body = mail.outbox[-1].body
    assert "4471" not in body and "Sign in" in body and "/status/" not in body
    assert b"4471" not in Client().get(links.status_path(request)).content
    assert b"4471" in signed_in_client(customer).get(f"/privacy/requests/{request.pk}/").content


def test_posting_delete_with_nothing_to_delete_says_so(customer: User) -> None:
    response = signed_in_client(customer).post("/privacy/chat/delete/")
    assert b"was deleted" not in response.content and b"My data" in response.content


def test_links_of_a_covered_request_say_it_is_closed(privacy_officer: User) -> None:
    visitor = Client()
    _open_and_verify(visitor, "closing@example.com", kind="export")
    link = _export_path(mail.outbox[-1])
    deletion = _open_and_verify(visitor, "closing@example.com")
    lifecycle.deletion_approve(request_id=deletion.pk, officer=privacy_officer, reason="")
    response = Client().get(link)
    assert response.status_code == 410 and b"This request is closed" in response.content


def test_a_denial_with_nowhere_to_write_is_not_redriven(customer: User, privacy_officer: User) -> None:
    request = _account_request(customer, "deletion")  # the customer has no confirmed address
    lifecycle.deletion_deny(request_id=request.pk, officer=privacy_officer, reason="kept")
    assert DataRequest.objects.get(pk=request.pk).confirmation_sent_at is not None
    assert jobs.data_requests_redrive(now=timezone.now() + dt.timedelta(hours=2)) == 0


def test_an_unbuilt_export_is_superseded_not_carried_out(customer: User, privacy_officer: User) -> None:
    deletion = _account_request(customer, "deletion")
    export = DataRequest.objects.create(
        kind="export", status=Status.RECEIVED, subject=customer, verified_by="account", verified_at=timezone.now()
    )
    RequestDetails.objects.create(request=export, email="", reason="")
    lifecycle.deletion_approve(request_id=deletion.pk, officer=privacy_officer, reason="")
    export.refresh_from_db()
    assert export.status == Status.DONE and export.counts == {"superseded_by_deletion": 1}
    assert b"Not made" in Client().get(links.status_path(export)).content


def test_the_export_includes_an_address_waiting_for_confirmation(customer: User) -> None:
    customer.pending_email = "waiting@example.com"
    customer.save(update_fields=["pending_email"])
    _, link = _export_for(customer)
    data = json.loads(zipfile.ZipFile(io.BytesIO(Client().post(link).content)).read("data.json"))
    assert data["account"]["email_waiting_for_confirmation"] == "waiting@example.com"
