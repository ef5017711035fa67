"""Data-subject requests in the audit trail, each step recorded once by the flow that takes it:
verification (by link or by a signed-in account), the officer's approval or denial, the job that
carries it out, and the export's one download; replayed links as refused."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from accounts.models import User
from audit.actions import Action, Outcome
from audit.selectors import trail_verify
from privacy.models import DataRequest
from tests.audit.events import assert_no_canary, entries, only
from tests.auth import reauthenticated, signed_in_client

pytestmark = pytest.mark.django_db(transaction=True)  # tasks and e-mails run once their step commits

ADDRESS = "canary.requester@example.org"
REASON = "Canary reason: open fraud case 4471"


@pytest.fixture(autouse=True)
def _requests_settings(eager_tasks: None, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVACY_AUTO_APPROVE_DELETION = False


def _link(pattern: str) -> str:
    match = re.search(rf"http://testserver(/privacy/{pattern}/[0-9a-f-]+/[^\s]+/)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


def _visitor_request(kind: str) -> tuple[DataRequest, str]:
    """A visitor asks for an address; the request and its verification link."""
    mail.outbox.clear()
    assert Client().post("/privacy/requests/new/", {"kind": kind, "email": ADDRESS}).status_code == 302
    path = re.search(r"http://testserver(/privacy/requests/[0-9a-f-]+/verify/[^\s]+/)", mail.outbox[-1].body).group(1)
    return DataRequest.objects.get(pk=path.split("/")[3]), path


def _account_request(user: User, kind: str) -> tuple[DataRequest, Client]:
    client = reauthenticated(signed_in_client(user))
    response = client.post("/privacy/requests/new/", {"kind": kind})
    assert response.status_code == 302, response.content
    return DataRequest.objects.get(pk=response["Location"].split("/")[3]), client


def _decide(officer: User, request: DataRequest, action: str, reason: str = "") -> None:
    client = reauthenticated(signed_in_client(officer))
    assert (
        client.post(f"/privacy/officer/requests/{request.pk}/", {"action": action, "reason": reason}).status_code == 302
    )


def _about(entry: Any) -> tuple[Any, str, str, str, str]:
    return entry.actor_id, entry.actor_role, entry.object_type, entry.object_id, entry.outcome


def test_verification_by_link_is_recorded_once_and_a_replay_as_refused() -> None:
    request, path = _visitor_request("deletion")
    visitor = Client()
    assert visitor.post(path).status_code == 302
    entry = only(Action.REQUEST_VERIFIED)
    assert _about(entry) == (None, "system", "datarequest", str(request.pk), Outcome.OK)
    assert entry.details == {"kind": "deletion", "via": "email"}
    assert visitor.post(path).status_code == 410
    replay = entries(Action.REQUEST_VERIFIED)[-1]
    assert _about(replay) == (None, "system", "datarequest", str(request.pk), Outcome.DENIED)
    assert replay.details == {"refused": "used"}
    assert len(entries(Action.REQUEST_VERIFIED)) == 2
    assert_no_canary(ADDRESS)


def test_a_forged_verification_link_records_nothing() -> None:
    request, path = _visitor_request("deletion")
    assert Client().post(path[:-3] + "xx/").status_code == 400
    assert not entries(Action.REQUEST_VERIFIED)


def test_a_signed_in_customer_opening_the_link_is_the_actor(customer: User) -> None:
    request, path = _visitor_request("export")
    assert signed_in_client(customer).post(path).status_code == 302
    entry = only(Action.REQUEST_VERIFIED)
    assert _about(entry) == (customer.pk, "customer", "datarequest", str(request.pk), Outcome.OK)


def test_an_approved_deletion_records_its_verification_approval_and_execution(
    customer: User, privacy_officer: User
) -> None:
    customer.email = ADDRESS
    customer.save(update_fields=["email"])
    request, _ = _account_request(customer, "deletion")
    verified = only(Action.REQUEST_VERIFIED)
    assert _about(verified) == (customer.pk, "customer", "datarequest", str(request.pk), Outcome.OK)
    assert verified.details == {"kind": "deletion", "via": "account"}
    _decide(privacy_officer, request, "approve", REASON)
    approved, executed = only(Action.REQUEST_APPROVED), only(Action.REQUEST_EXECUTED)
    assert _about(approved) == (privacy_officer.pk, "privacy_officer", "datarequest", str(request.pk), Outcome.OK)
    assert approved.details == {"kind": "deletion", "automatic": False}
    assert _about(executed) == (None, "system", "datarequest", str(request.pk), Outcome.OK)
    assert executed.details["kind"] == "deletion" and executed.details["accounts"] == 1
    assert executed.seq > approved.seq > verified.seq
    assert not entries(Action.REQUEST_DENIED)
    assert_no_canary(ADDRESS, REASON, "customer@")
    assert trail_verify().intact


def test_an_automatic_approval_has_no_officer(customer: User, settings: Any) -> None:
    settings.PRIVACY_AUTO_APPROVE_DELETION = True
    client = reauthenticated(signed_in_client(customer))
    assert b"being deleted" in client.post("/privacy/requests/new/", {"kind": "deletion"}).content  # at once
    request = DataRequest.objects.get()
    approved = only(Action.REQUEST_APPROVED)
    assert _about(approved) == (None, "system", "datarequest", str(request.pk), Outcome.OK)
    assert approved.details["automatic"] is True
    assert only(Action.REQUEST_EXECUTED).object_id == str(request.pk)


def test_a_denial_is_recorded_without_its_reason(customer: User, privacy_officer: User) -> None:
    request, _ = _account_request(customer, "deletion")
    _decide(privacy_officer, request, "deny", REASON)
    denied = only(Action.REQUEST_DENIED)
    assert _about(denied) == (privacy_officer.pk, "privacy_officer", "datarequest", str(request.pk), Outcome.OK)
    assert not entries(Action.REQUEST_APPROVED) and not entries(Action.REQUEST_EXECUTED)
    assert_no_canary(REASON)


def test_an_export_is_recorded_when_built_and_its_download_once(customer: User) -> None:
    request, client = _account_request(customer, "export")
    executed = only(Action.REQUEST_EXECUTED)
    assert _about(executed) == (None, "system", "datarequest", str(request.pk), Outcome.OK)
    assert executed.details["kind"] == "export" and executed.details["account"] == 1
    page = client.get(f"/privacy/requests/{request.pk}/").content.decode()
    download = re.search(r'href="http://testserver(/privacy/exports/[^"]+)"', page).group(1)
    assert client.post(download).status_code == 200
    entry = only(Action.EXPORT_DOWNLOADED)
    assert _about(entry) == (customer.pk, "customer", "datarequest", str(request.pk), Outcome.OK)
    assert client.post(download).status_code == 410
    again = entries(Action.EXPORT_DOWNLOADED)
    assert len(again) == 2 and again[-1].outcome == Outcome.DENIED and again[-1].details == {"refused": "downloaded"}
    assert len(entries(Action.REQUEST_EXECUTED)) == 1


def test_a_visitors_export_downloaded_from_the_emailed_link_has_no_actor() -> None:
    request, path = _visitor_request("export")
    visitor = Client()
    visitor.post(path)
    assert visitor.post(_link("exports")).status_code == 200
    assert _about(only(Action.EXPORT_DOWNLOADED)) == (None, "system", "datarequest", str(request.pk), Outcome.OK)
    assert_no_canary(ADDRESS)
