"""The hostile-input sweep of the forms: hypothesis-generated posts (huge values, any Unicode, NUL
bytes, repeated fields, missing fields, unknown fields) to every form, each as the persona the
form is for. No post may be a server error: each is refused (4xx), answered with the form again
(200, its errors shown) or, when the values happen to be acceptable, carried out (302). The app
keeps answering afterwards."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from hypothesis import strategies as st

from accounts.models import User
from conversations import services
from privacy.data_requests import lifecycle
from tests.auth import reauthenticated, signed_in_client, totp_device
from tests.factories import UserFactory
from tests.security.fuzz_inputs import draw

POSTS_PER_FORM = 80
ANSWERS = {200, 302, 400, 403, 404, 405, 410, 429}

PRINTABLE = st.characters(codec="utf-8", exclude_categories=["Cs"])  # what a browser can post
VALUE = (
    st.text(PRINTABLE, max_size=60)
    | st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "export",
            "deletion",
            "approve",
            "deny",
            "release",
            "123456",
            "a@b.co",
            "1",
            "2",
            "3",
            "4",
            "5",
        ]
    )
    | st.builds(
        lambda c, n: c * n,
        st.sampled_from(["a", "é", "\x00", "😀", "@", "1"]),
        st.sampled_from([256, 300, 5_000, 100_000]),
    )
    | st.integers().map(str)
    | st.lists(st.text(PRINTABLE, max_size=20), min_size=2, max_size=3)  # a field sent more than once
)


def _posts(fields: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """Any subset of the form's fields (missing ones included), sometimes with an unknown one."""
    return st.fixed_dictionaries({}, optional={**dict.fromkeys(fields, VALUE), "unexpected": VALUE})


@pytest.fixture
def people(customer: User, agent: User, supervisor: User, privacy_officer: User) -> dict[str, Any]:
    conversation = services.conversation_start(customer=customer)
    services.conversation_hand_over(conversation_id=conversation.pk)
    services.conversation_claim(conversation_id=conversation.pk, agent=agent)
    data_request = lifecycle.data_request_open_for_account(kind="deletion", user=customer)
    unenrolled = UserFactory(username="unenrolled", role=User.Role.AGENT)
    totp_device(agent)
    return {
        "anonymous": Client,
        "visitor": lambda: _visitor(),
        "customer": lambda: reauthenticated(signed_in_client(customer)),
        "agent_password_only": lambda: signed_in_client(agent, verified=False),
        "unenrolled": lambda: signed_in_client(unenrolled, verified=False),
        "supervisor": lambda: reauthenticated(signed_in_client(supervisor)),
        "officer": lambda: reauthenticated(signed_in_client(privacy_officer)),
        "conversation": conversation.pk,
        "data_request": data_request.pk,
    }


def _visitor() -> Client:
    client = Client()
    client.get("/chat/")
    return client


# form: (persona, path, fields)
FORMS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "sign-in": ("anonymous", "/accounts/login/", ("username", "password", "next")),
    "sign-up": ("anonymous", "/accounts/signup/", ("username", "email", "password1", "password2")),
    "e-mail": ("customer", "/accounts/email/", ("email",)),
    "password change": ("customer", "/accounts/password/", ("old_password", "new_password1", "new_password2")),
    "mfa setup": ("unenrolled", "/accounts/mfa/setup/", ("code", "next")),
    "mfa verify": ("agent_password_only", "/accounts/mfa/verify/", ("code", "next")),
    "reauth": ("customer", "/accounts/reauth/", ("password", "code", "next")),
    "privacy request (visitor)": ("visitor", "/privacy/requests/new/", ("kind", "email")),
    "privacy request (account)": ("customer", "/privacy/requests/new/", ("kind",)),
    "officer decision": ("officer", "/privacy/officer/requests/{data_request}/", ("action", "reason")),
    "console assign": ("supervisor", "/console/conversations/{conversation}/assign/", ("agent",)),
    "console legal hold": ("supervisor", "/console/conversations/{conversation}/hold/", ("action", "reason")),
    "console resolve": ("supervisor", "/console/conversations/{conversation}/resolve/", ()),
    "admin login": ("anonymous", "/admin/login/", ("username", "password", "next")),
}


@pytest.mark.django_db
@pytest.mark.parametrize("form", list(FORMS))
def test_generated_posts_get_no_server_error(form: str, people: dict[str, Any]) -> None:
    persona, template, fields = FORMS[form]
    path = template.format(**people)
    client = people[persona]()
    client.raise_request_exception = False
    statuses: dict[int, int] = {}
    for data in draw(_posts(fields), POSTS_PER_FORM):
        status = client.post(path, data).status_code
        statuses[status] = statuses.get(status, 0) + 1
        assert status in ANSWERS, (form, status, {k: repr(v)[:80] for k, v in data.items()})
    print(f"{form}: {POSTS_PER_FORM} posts, answers {statuses}")
    assert sum(statuses.values()) == POSTS_PER_FORM
    assert Client().get("/privacy/").status_code == 200  # still answering
