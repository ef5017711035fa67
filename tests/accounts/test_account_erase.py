"""accounts.services.account_erase: an account goes with its sessions, failed sign-ins and sockets
(privacy's deletions call it; they never write accounts' tables themselves)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.sessions.models import Session

from accounts import services
from accounts.models import User, UserSession
from tests.auth import signed_in_client

pytestmark = pytest.mark.django_db


def test_account_erase_deletes_the_account_its_sessions_and_failed_sign_ins(
    customer: User, other_customer: User, monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from axes.models import AccessAttempt, AccessFailureLog

    laptop, phone, theirs = signed_in_client(customer), signed_in_client(customer), signed_in_client(other_customer)
    keys = [c.cookies["sessionid"].value for c in (laptop, phone)]
    AccessAttempt.objects.create(username=customer.username, ip_address="10.0.0.1", failures_since_start=1)
    AccessAttempt.objects.create(username=other_customer.username, ip_address="10.0.0.1", failures_since_start=1)
    AccessFailureLog.objects.create(username=customer.username, ip_address="10.0.0.1", locked_out=False)
    closed: list[str] = []
    monkeypatch.setattr(services, "group_send_on_commit", lambda group, message: closed.append(group))
    user_id = customer.pk

    with django_capture_on_commit_callbacks(execute=True):
        counts = services.account_erase(user=customer)

    assert counts == {"failed_sign_ins": 1, "accounts": 1, "sessions": 2}
    assert not User.objects.filter(pk=user_id).exists()
    assert not Session.objects.filter(session_key__in=keys).exists()
    assert not UserSession.objects.filter(session_key__in=keys).exists()
    assert not AccessFailureLog.objects.filter(username=customer.username).exists()
    assert AccessAttempt.objects.filter(username=other_customer.username).exists()
    assert Session.objects.filter(session_key=theirs.cookies["sessionid"].value).exists()
    assert sorted(closed) == sorted([*(services.session_group(k) for k in keys), services.user_group(user_id)])


def test_sessions_end_keys_counts_the_sessions_it_ended(customer: User) -> None:
    key = signed_in_client(customer).cookies["sessionid"].value
    assert services.sessions_end_keys(session_keys=[key, "no-such-session"]) == 1
    assert services.sessions_end_keys(session_keys=[key]) == 0
