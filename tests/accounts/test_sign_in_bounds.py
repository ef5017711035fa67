"""Sign-in input that is too long or malformed: a form error, never a 500 (django-axes' username
column is 255 characters: on PostgreSQL a longer value was a 500). Runs on the database the suite
runs on: SQLite embedded, PostgreSQL with DATABASE_URL (CI runs both)."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.test import Client

from accounts.models import User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "username",
    ["c" * 300, "c" * 255, "x@" + "e" * 300 + ".example", "\x00customer", "c" * 100_000],
)
def test_an_overlong_or_garbage_username_is_a_form_error(customer: User, username: str) -> None:
    response = Client().post("/accounts/login/", {"username": username, "password": "wrong-password"})
    assert response.status_code == 200
    assert "username" in response.context["form"].errors
    assert not AccessAttempt.objects.filter(username__startswith="cc").exists()


def test_the_longest_accepted_value_is_an_address_and_is_counted(customer: User, settings: object) -> None:
    address = "a" * 64 + "@" + "e" * 180 + ".example"  # 253 characters
    response = Client().post("/accounts/login/", {"username": address, "password": "wrong-password"})
    assert response.status_code == 200 and "username" not in response.context["form"].errors
    assert Client().post("/accounts/login/", {"username": "customer", "password": PASSWORD}).status_code == 302
