"""Sign-up answers alike whether or not the username or the address is taken; the e-mail says
which, and a free username becomes an account only once its link is opened."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from django.core import mail, signing
from django.test import Client
from django.utils import timezone

from accounts import addresses
from accounts.backends import user_by_email
from accounts.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def dana() -> User:
    return UserFactory(username="dana", email="Dana.Lee@Example.com")


def _post(username: str, email: str, client: Client | None = None) -> object:
    data = {"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD}
    return (client or Client()).post("/accounts/signup/", data)


def _answer(username: str, email: str) -> tuple[int, str, str, int]:
    """What the person signing up sees, and how many e-mails it made."""
    client, before = Client(), len(mail.outbox)
    response = _post(username, email, client)
    page = client.get(response["Location"]).content.decode()
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", page)  # random per session
    return response.status_code, response["Location"], page, len(mail.outbox) - before


def _link(message: object) -> str:
    match = re.search(r"http://testserver(/accounts/email/confirm/\d+/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_the_answer_is_the_same_for_a_free_and_a_taken_username(dana: User, eager_tasks: None) -> None:
    taken = _answer("DANA", "someone@example.com")  # taken in any case
    free = _answer("kim", "kim@example.com")
    assert taken == free and free[:2] == (302, "/accounts/signup/check-email/") and free[3] == 1
    assert "Check your e-mail to finish signing up" in free[2]
    refused, sent = mail.outbox
    assert refused.to == ["someone@example.com"] and 'The username "DANA" is not available' in refused.body
    assert "/accounts/signup/" in refused.body and "/confirm/" not in refused.body
    assert "dana.lee" not in refused.body  # nothing about the existing account
    assert sent.to == ["kim@example.com"] and "/accounts/email/confirm/" in sent.body
    assert User.objects.get(username="dana").pending_email == ""  # the existing account is untouched
    kim = User.objects.get(username="kim")
    assert not kim.is_active and kim.pending_email == "kim@example.com" and kim.email == ""


def test_the_answer_is_the_same_for_a_free_and_a_taken_address(dana: User, eager_tasks: None) -> None:
    taken = _answer("dana2", "DANA.lee@example.com")
    free = _answer("kim", "kim@example.com")
    assert taken == free
    have_one, sent = mail.outbox
    assert have_one.to == ["dana.lee@example.com"] and "You already have an account" in have_one.body
    assert "/confirm/" not in have_one.body and "dana" not in have_one.body.replace("dana.lee", "")
    assert sent.to == ["kim@example.com"] and "/accounts/email/confirm/" in sent.body
    # A taken username with a taken address: still the one e-mail, the "you have an account" one.
    assert _answer("dana", "dana.lee@example.com") == free
    assert "You already have an account" in mail.outbox[-1].body


def test_the_refusal_leaves_nothing_readable_behind(dana: User, eager_tasks: None) -> None:
    from vault.models import DataKey

    keys = DataKey.objects.count()
    _post("dana", "someone@example.com")
    assert len(mail.outbox) == 1
    # The refusal's own data key is destroyed once sent: sending again finds nothing to read.
    assert DataKey.objects.count() <= keys + 1  # at most the orphan of the failed insert


def test_the_activation_link_works_once_then_the_person_signs_in(eager_tasks: None) -> None:
    _post("kim", "Kim@Example.com")
    path = _link(mail.outbox[-1])
    scanner = Client()
    page = scanner.get(path)  # a mail scanner follows links: that activates nothing
    assert b"Activate my account" in page.content and not User.objects.get(username="kim").is_active
    response = Client().post(path)
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    kim = User.objects.get(username="kim")
    assert kim.is_active and kim.pending_email == "" and user_by_email("kim@example.com") == kim
    again = Client().post(path)
    assert again.status_code == 410 and b"already been used" in again.content
    client = Client()
    assert client.post("/accounts/login/", {"username": "kim@example.com", "password": PASSWORD}).status_code == 302
    assert client.get("/me/conversations/").status_code == 200


def test_the_activation_link_expires_and_refuses_a_damaged_token(
    eager_tasks: None, monkeypatch: pytest.MonkeyPatch, settings: object
) -> None:
    _post("kim", "kim@example.com")
    path = _link(mail.outbox[-1])
    token = path.rstrip("/").rsplit("/", 1)[1]
    damaged = Client().post(path.replace(token, token[:-2] + "zz"))
    assert damaged.status_code == 410 and b"damaged" in damaged.content
    later = time.time() + (settings.PRIVACY_VERIFY_LINK_MINUTES + 1) * 60
    monkeypatch.setattr(signing.time, "time", lambda: later)
    expired = Client().post(path)
    assert expired.status_code == 410 and b"expired" in expired.content
    assert not User.objects.get(username="kim").is_active


def test_an_account_not_yet_activated_cannot_sign_in(eager_tasks: None) -> None:
    _post("kim", "kim@example.com")
    for typed in ("kim", "kim@example.com"):
        client = Client()
        response = client.post("/accounts/login/", {"username": typed, "password": PASSWORD})
        assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_the_hourly_job_frees_the_username_of_a_sign_up_never_activated(dana: User, eager_tasks: None) -> None:
    from accounts.tasks import pending_emails_forget

    _post("kim", "kim@example.com")
    addresses.email_change_start(user=dana, address="dana.new@example.com", notify=False)
    soon = timezone.now() + dt.timedelta(minutes=5)
    assert addresses.pending_emails_forget(now=soon) == 0 and User.objects.filter(username="kim").exists()
    User.objects.filter(username="kim").update(pending_email_at=timezone.now() - dt.timedelta(hours=1))
    assert pending_emails_forget.apply().get() == 1
    assert not User.objects.filter(username="kim").exists()
    assert User.objects.get(username="dana").pending_email == "dana.new@example.com"  # an active account keeps it
    _post("kim", "kim2@example.com")  # the username is free again
    assert User.objects.get(username="kim").pending_email == "kim2@example.com"


def test_a_deactivated_account_is_neither_reactivated_nor_deleted(dana: User, eager_tasks: None) -> None:
    dana.last_login = None
    dana.is_active = False
    dana.save(update_fields=["last_login", "is_active"])
    assert not addresses.awaiting_activation(dana)  # it has a confirmed address
    addresses.pending_emails_forget(now=timezone.now() + dt.timedelta(days=2))
    assert User.objects.filter(username="dana").exists()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"username": "kim"},
        {"username": "kim", "password1": PASSWORD, "password2": PASSWORD},  # no address
        {"username": "x" * 10_000, "email": "kim@example.com", "password1": PASSWORD, "password2": PASSWORD},
        {"username": "kim", "email": "k" * 10_000 + "@example.com", "password1": PASSWORD, "password2": PASSWORD},
        {"username": "kim\u0000", "email": "kim@example.com", "password1": PASSWORD, "password2": PASSWORD},
        {"username": "kïm\u202e", "email": "kïm@exämple.com\u202e", "password1": PASSWORD, "password2": PASSWORD},
        {"username": "kim", "email": "kim@example.com", "password1": PASSWORD, "password2": PASSWORD + "x"},
        {"username": "kim", "email": "kim@example.com", "password1": "x" * 100_000, "password2": "y"},
    ],
)
def test_garbage_gives_a_form_error_not_a_500(data: dict[str, str]) -> None:
    response = Client().post("/accounts/signup/", data)
    assert response.status_code == 200 and b'role="alert"' in response.content
    assert not User.objects.filter(username__startswith="k").exists() and not mail.outbox
