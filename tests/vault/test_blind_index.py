"""A customer is found by e-mail through a keyed blind index: any case or spacing, never another."""

from __future__ import annotations

import hashlib
import re
import time

import pytest
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.test import Client, override_settings

from accounts import addresses
from accounts.backends import user_by_email
from accounts.models import User
from tests.auth import reauthenticated, signed_in_client, signed_up_client
from tests.factories import PASSWORD, UserFactory
from vault.blind import blind_index

pytestmark = pytest.mark.django_db


@pytest.fixture
def dana() -> User:
    return UserFactory(username="dana", email="Dana.Lee@Example.com")


@pytest.mark.parametrize(
    "typed", ["dana.lee@example.com", "DANA.LEE@EXAMPLE.COM", "  Dana.Lee@Example.com\t", "\u00a0dana.lee@example.com "]
)
def test_lookup_finds_the_customer_however_the_address_is_cased_or_spaced(dana: User, typed: str) -> None:
    assert user_by_email(typed) == dana


@pytest.mark.parametrize(
    "typed", ["dana.lee@example.co", "danalee@example.com", "dana.lee@example.com.", "dana.le@example.com", "", "  "]
)
def test_lookup_never_matches_another_address(dana: User, typed: str) -> None:
    UserFactory(username="other", email="dana.lee@example.co")
    found = user_by_email(typed)
    assert found is None or found.username == "other" and typed.strip() == "dana.lee@example.co"


def test_the_index_is_keyed_and_no_plain_hash_of_the_address_is_stored(dana: User) -> None:
    stored = User.objects.values_list("email_index", flat=True).get(pk=dana.pk)
    assert stored == blind_index("email", "dana.lee@example.com")
    assert stored not in {
        hashlib.sha256(b"dana.lee@example.com").hexdigest(),
        hashlib.sha256(b"Dana.Lee@Example.com").hexdigest(),
    }
    with override_settings(BLIND_INDEX_KEY=bytes(range(32, 64))):
        assert blind_index("email", "dana.lee@example.com") != stored
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_user WHERE id = %s", [dana.pk])
        assert "dana.lee" not in repr(cursor.fetchone()).lower()


def test_the_index_follows_a_changed_address_and_empty_addresses_do_not_collide(dana: User) -> None:
    dana.email = "new.address@example.com"
    dana.save(update_fields=["email"])
    assert user_by_email("dana.lee@example.com") is None and user_by_email("NEW.address@example.com") == dana
    UserFactory(username="a"), UserFactory(username="b")  # no e-mail: no index, no collision
    assert User.objects.filter(email_index__isnull=True).count() == 2


def test_two_accounts_cannot_share_an_address_in_different_case(dana: User) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(username="copycat", email="DANA.LEE@example.COM")


def test_sign_in_with_the_address_in_any_case(client: object, dana: User) -> None:
    response = client.post("/accounts/login/", {"username": " DANA.lee@example.com ", "password": PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(dana.pk)


def test_a_wrong_password_with_the_address_fails_like_an_unknown_address(client: object, dana: User) -> None:
    known = client.post("/accounts/login/", {"username": "dana.lee@example.com", "password": "wrong-password-1"})
    unknown = client.post("/accounts/login/", {"username": "nobody@example.com", "password": "wrong-password-1"})
    assert known.status_code == unknown.status_code == 200
    assert known.context["form"].errors == unknown.context["form"].errors


def test_failed_sign_ins_by_address_and_username_count_together_and_store_no_address(
    client: object, dana: User
) -> None:
    from axes.models import AccessAttempt

    for typed in ("dana.lee@example.com", "DANA.LEE@example.com", "dana", " Dana.Lee@Example.com"):
        client.post("/accounts/login/", {"username": typed, "password": "wrong-password-1"})
    client.post("/accounts/login/", {"username": "ghost@example.com", "password": "wrong-password-1"})
    attempts = {a["username"]: a for a in AccessAttempt.objects.values("username", "failures_since_start", "post_data")}
    assert attempts["dana"]["failures_since_start"] == 4  # one counter for the account
    assert [name for name in attempts if name != "dana"] == [f"email:{blind_index('email', 'ghost@example.com')[:32]}"]
    assert "example.com" not in repr(attempts).lower()


def test_a_username_cannot_be_an_e_mail_address(client: object) -> None:
    response = client.post(
        "/accounts/signup/",
        {"username": "kim@example.com", "email": "kim@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 200 and "no @" in response.content.decode()
    assert not User.objects.filter(username="kim@example.com").exists()


def _confirm_path(message: object) -> str:
    match = re.search(r"http://testserver(/accounts/email/confirm/\d+/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


@pytest.mark.django_db(transaction=True)
def test_an_address_is_the_accounts_once_its_owner_confirms_it_once(eager_tasks: None, monkeypatch: object) -> None:
    """Sign-up's own answers (alike for taken and free usernames and addresses) are in
    tests/accounts/test_sign_up.py; this is a later change of address."""
    from django.core import signing

    client = signed_up_client("kim", PASSWORD, email="kim.old@example.com")
    kim = User.objects.get(username="kim")
    addresses.email_change_start(user=kim, address="Kim@Example.com")
    path = _confirm_path(mail.outbox[-1])
    assert user_by_email("kim@example.com") is None  # not before confirmation
    stranger = Client()  # the mailbox alone is not enough: the account must be signed in
    assert b"Sign in as kim" in stranger.get(path).content
    stranger.post(path)
    assert user_by_email("kim@example.com") is None
    assert b"Confirm my address" in client.get(path).content
    assert client.post(path).status_code == 200 and user_by_email("kim@example.com").username == "kim"
    again = client.post(path)
    assert again.status_code == 410 and b"already been used" in again.content
    token = path.rstrip("/").rsplit("/", 1)[1]
    tampered = client.post(path.replace(token, token[:-2] + "zz"))
    assert tampered.status_code == 410 and b"damaged" in tampered.content
    forged_user = client.post(path.replace(f"/confirm/{kim.pk}/", "/confirm/999999/"))
    assert forged_user.status_code == 410
    # A second address, confirmed too late.
    addresses.email_change_start(user=kim, address="kim.new@example.com")
    late = _confirm_path(mail.outbox[-1])
    later = time.time() + 31 * 60
    monkeypatch.setattr(signing.time, "time", lambda: later)
    response = client.post(late)
    assert response.status_code == 410 and b"expired" in response.content
    assert User.objects.get(username="kim").email == "kim@example.com"


def test_the_admin_finds_a_user_by_exact_address_in_any_case(dana: User, superuser: User) -> None:
    admin = reauthenticated(signed_in_client(superuser))
    found = admin.get("/admin/accounts/user/", {"q": " DANA.lee@EXAMPLE.com"})
    assert found.status_code == 200 and list(found.context["cl"].result_list) == [dana]
    assert list(admin.get("/admin/accounts/user/", {"q": "dana.lee@example.co"}).context["cl"].result_list) == []
    assert dana in admin.get("/admin/accounts/user/", {"q": "dan"}).context["cl"].result_list  # by username


@pytest.mark.parametrize(
    "typed", ["@", "@@", "a@", "\u0000@x", "x" * 300 + "@example.com", "dana.lee@example.com\u202e"]
)
def test_sign_in_with_garbage_addresses_fails_cleanly(client: object, dana: User, typed: str) -> None:
    response = client.post("/accounts/login/", {"username": typed, "password": PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_sign_up_refuses_a_malformed_address(client: object) -> None:
    response = client.post(
        "/accounts/signup/",
        {"username": "kim", "email": "not an address", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 200 and not User.objects.filter(username="kim").exists()


@pytest.mark.django_db(transaction=True)
def test_nobody_puts_their_address_on_someone_elses_account(eager_tasks: None) -> None:
    signed_up_client("mallory", PASSWORD, email="mallory@example.com")
    addresses.email_change_start(user=User.objects.get(username="mallory"), address="victim@example.com")
    message = mail.outbox[-1]
    assert '"mallory"' in message.body  # the e-mail names the account, so the victim can tell
    victim = signed_up_client("victim", PASSWORD, email="victim.other@example.com")
    page = victim.post(_confirm_path(message))  # the victim, signed in as themselves, presses it
    assert b"given for the account <strong>mallory</strong>" in page.content and b"sign out first" in page.content
    assert user_by_email("victim@example.com") is None


@pytest.mark.django_db(transaction=True)
def test_sign_up_is_limited_per_client_and_mails_an_address_only_so_often(eager_tasks: None, settings: object) -> None:
    settings.PRIVACY_REQUEST_RATE_PER_ADDRESS, settings.PRIVACY_REQUEST_RATE_PER_IP = "2/h", "4/h"
    codes = []
    for i in range(5):
        response = Client().post(
            "/accounts/signup/",
            {"username": f"u{i}", "email": "target@example.com", "password1": PASSWORD, "password2": PASSWORD},
        )
        codes.append(response.status_code)
    assert codes == [302, 302, 302, 302, 429]
    assert [m.to for m in mail.outbox] == [["target@example.com"]] * 2  # the third and fourth made no e-mail
    assert User.objects.get(username="u3").pending_email == "target@example.com"  # same answer, same record


@pytest.mark.django_db(transaction=True)
def test_unconfirmed_addresses_are_forgotten_and_a_new_link_can_be_asked_for(eager_tasks: None) -> None:
    import datetime as dt

    from django.utils import timezone

    kim = UserFactory(username="kim")
    client = signed_in_client(kim)
    addresses.email_change_start(user=kim, address="kim@example.com")
    assert addresses.pending_emails_forget(now=timezone.now() + dt.timedelta(hours=1)) == 0
    assert addresses.pending_emails_forget(now=timezone.now() + dt.timedelta(hours=9)) == 1
    assert User.objects.get(username="kim").pending_email == ""
    reauthenticated(client)
    assert b"No confirmed address yet" in client.get("/accounts/email/").content
    response = client.post("/accounts/email/", {"email": "Kim@Example.com", "next": "/accounts/email/"})
    assert response.status_code == 302
    client.post(_confirm_path(mail.outbox[-1]))
    assert user_by_email("kim@example.com").username == "kim"
    response = client.post("/accounts/email/", {"email": "not an address"})
    assert response.status_code == 200 and b'role="alert"' in response.content


@pytest.mark.django_db(transaction=True)
def test_the_email_page_keeps_to_the_per_address_mail_limit(eager_tasks: None, settings: object) -> None:
    settings.PRIVACY_REQUEST_RATE_PER_ADDRESS = "2/h"
    for i in range(4):
        client = signed_in_client(UserFactory(username=f"asker{i}"))
        reauthenticated(client)
        assert client.post("/accounts/email/", {"email": "target@example.com"}).status_code == 302
    assert [m.to for m in mail.outbox] == [["target@example.com"]] * 2
