"""Every URL pattern and every WebSocket route, for every kind of principal.

The routes are read from the URL conf and the ASGI router: a route added without an entry here
fails `test_every_route_has_a_matrix_entry`. Outcomes: ok (200), login (sent to sign in), mfa
(sent to two-step sign-in), redirect (another 302), forbidden (403), missing (404), method (405);
for sockets, open or refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.models import User
from conversations import canned, routing, services
from privacy.data_requests import lifecycle
from privacy.models import Alert
from privacy.oversight import incidents
from tests.auth import signed_in_client
from tests.factories import UserFactory
from tests.wsclient import Socket, login_session, visitor_session

PRINCIPALS = [
    "anonymous",
    "visitor",
    "customer",
    "other_customer",
    "agent",
    "other_agent",
    "supervisor",
    "privacy_officer",
    "staff_without_mfa",
]
CUSTOMERS = {"customer", "other_customer"}
CONSOLE = {"agent", "other_agent", "supervisor"}
STAFF = CONSOLE | {"privacy_officer"}
PUBLIC = {"anonymous", "visitor"}


def outcomes(default: str, **by: str) -> dict[str, str]:
    """Expected outcome per principal: `default`, overridden by name or by group (customers,
    console, staff, public). A staff member without a second factor is sent to enroll unless the
    route is one of the exempt ones (say so with staff_without_mfa=...)."""
    result = dict.fromkeys(PRINCIPALS, default)
    groups = {"customers": CUSTOMERS, "console": CONSOLE, "staff": STAFF, "public": PUBLIC}
    for key, value in by.items():
        for principal in groups.get(key, {key}):
            result[principal] = value
    if "staff_without_mfa" not in by:
        result["staff_without_mfa"] = "mfa"
    return result


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # with {agent_conv}, {customer_conv} placeholders
    expected: dict[str, str]


HTTP_MATRIX: dict[str, Route] = {
    "conversations:home": Route("GET", "/", outcomes("redirect")),
    "conversations:widget": Route("GET", "/chat/", outcomes("ok")),
    "conversations:demo_site": Route("GET", "/demo/", outcomes("missing")),  # DEMO_SITE is off outside DEBUG
    "conversations:console": Route("GET", "/console/", outcomes("forbidden", public="login", console="ok")),
    "conversations:console_history": Route(
        "GET", "/console/history/", outcomes("forbidden", public="login", console="ok")
    ),
    "conversations:console_dashboard": Route(
        "GET", "/console/dashboard/", outcomes("forbidden", public="login", supervisor="ok")
    ),
    "conversations:console_conversation": Route(
        "GET",
        "/console/conversations/{agent_conv}/",
        outcomes("forbidden", public="login", agent="ok", supervisor="ok", other_agent="missing"),
    ),
    "conversations:console_claim": Route(
        "POST", "/console/conversations/{agent_conv}/claim/", outcomes("forbidden", public="login", console="redirect")
    ),
    "conversations:console_assign": Route(
        "POST",
        "/console/conversations/{agent_conv}/assign/",
        outcomes("forbidden", public="login", agent="missing", other_agent="missing", supervisor="missing"),
    ),
    "conversations:console_hold": Route(
        "POST",
        "/console/conversations/{agent_conv}/hold/",
        outcomes("forbidden", public="login", agent="missing", other_agent="missing", supervisor="redirect"),
    ),
    "conversations:console_resolve": Route(
        "POST",
        "/console/conversations/{agent_conv}/resolve/",
        outcomes("forbidden", public="login", agent="redirect", supervisor="redirect", other_agent="missing"),
    ),
    # Canned replies: {canned} is the agent's own, {shared_canned} a shared one.
    "conversations:canned_fill": Route(
        "GET",
        "/console/conversations/{agent_conv}/canned/{shared_canned}/",
        outcomes("forbidden", public="login", agent="ok", supervisor="ok", other_agent="missing"),
    ),
    "conversations:canned_list": Route("GET", "/console/canned/", outcomes("forbidden", public="login", console="ok")),
    "conversations:canned_new": Route(
        "GET", "/console/canned/new/", outcomes("forbidden", public="login", console="ok")
    ),
    "conversations:canned_edit": Route(
        "GET", "/console/canned/{canned}/", outcomes("forbidden", public="login", console="missing", agent="ok")
    ),
    "conversations:canned_delete": Route(
        "POST",
        "/console/canned/{canned}/delete/",
        outcomes("forbidden", public="login", console="missing", agent="redirect"),
    ),
    "accounts:login": Route("GET", "/accounts/login/", outcomes("redirect", public="ok", staff_without_mfa="redirect")),
    "accounts:logout": Route("POST", "/accounts/logout/", outcomes("login", staff_without_mfa="login")),
    "accounts:sign_up": Route("GET", "/accounts/signup/", outcomes("redirect", public="ok")),
    "accounts:sign_up_check_email": Route("GET", "/accounts/signup/check-email/", outcomes("redirect", public="ok")),
    "accounts:home": Route("GET", "/accounts/", outcomes("redirect", public="login")),
    "accounts:mfa_setup": Route(
        # Customers turning it on re-authenticate first; enrolled staff are sent to manage it.
        "GET",
        "/accounts/mfa/setup/",
        outcomes("redirect", public="login", staff_without_mfa="ok"),
    ),
    "accounts:mfa_verify": Route(
        "GET", "/accounts/mfa/verify/", outcomes("redirect", public="login", staff_without_mfa="mfa")
    ),
    "accounts:mfa_manage": Route("GET", "/accounts/mfa/", outcomes("ok", public="login")),
    "accounts:mfa_backup_codes": Route("POST", "/accounts/mfa/backup-codes/", outcomes("redirect", public="login")),
    "accounts:mfa_disable": Route("POST", "/accounts/mfa/disable/", outcomes("redirect", public="login")),
    "accounts:reauth": Route("GET", "/accounts/reauth/", outcomes("ok", public="login")),
    # A forged confirmation link is refused for everyone ("410": the refusal page).
    "accounts:email_confirm": Route("GET", "/accounts/email/confirm/1/forged/", outcomes("410")),
    "accounts:email_address": Route("GET", "/accounts/email/", outcomes("missing", public="login", customers="ok")),
    "accounts:password_change": Route("GET", "/accounts/password/", outcomes("redirect", public="login")),
    "accounts:password_change_done": Route("GET", "/accounts/password/done/", outcomes("ok", public="login")),
    "conversations:my_conversations": Route(
        "GET", "/me/conversations/", outcomes("missing", public="login", customers="ok")
    ),
    "conversations:my_conversation": Route(
        "GET",
        "/me/conversations/{customer_conv}/",
        outcomes("missing", public="login", customer="ok", other_customer="missing"),
    ),
    "privacy:notice": Route("GET", "/privacy/", outcomes("ok", staff_without_mfa="ok")),
    # The portal: customers and visitors; staff accounts are an administrator's business.
    "privacy:request_new": Route("GET", "/privacy/requests/new/", outcomes("ok", staff="forbidden")),
    "privacy:request_sent": Route("GET", "/privacy/requests/sent/", outcomes("ok")),
    # For the signed-in customer it is about (visitors have the signed status link).
    "privacy:request_status": Route(
        "GET", "/privacy/requests/{data_request}/", outcomes("missing", public="login", customer="ok")
    ),
    # Signed links: a forged token is refused for everyone ("400": the "damaged link" page).
    "privacy:request_verify": Route("GET", "/privacy/requests/{data_request}/verify/forged/", outcomes("400")),
    "privacy:request_status_link": Route("GET", "/privacy/requests/{data_request}/status/forged/", outcomes("400")),
    "privacy:export_download": Route("GET", "/privacy/exports/{data_request}/forged/", outcomes("400")),
    "privacy:chat_delete": Route("GET", "/privacy/chat/delete/", outcomes("ok")),
    "privacy:officer_queue": Route(
        "GET", "/privacy/officer/", outcomes("forbidden", public="login", privacy_officer="ok")
    ),
    "privacy:officer_request": Route(
        "GET", "/privacy/officer/requests/{data_request}/", outcomes("forbidden", public="login", privacy_officer="ok")
    ),
    # Oversight: supervisors and privacy officers read the trail and its alerts; officers alone
    # handle incidents. The export asks for the password again first (redirect).
    "privacy:trail": Route(
        "GET", "/privacy/trail/", outcomes("forbidden", public="login", supervisor="ok", privacy_officer="ok")
    ),
    "privacy:trail_export": Route(
        "GET",
        "/privacy/trail/export/",
        outcomes("forbidden", public="login", supervisor="redirect", privacy_officer="redirect"),
    ),
    "privacy:alerts": Route(
        "GET", "/privacy/alerts/", outcomes("forbidden", public="login", supervisor="ok", privacy_officer="ok")
    ),
    "privacy:alert": Route(
        "GET", "/privacy/alerts/{alert}/", outcomes("forbidden", public="login", supervisor="ok", privacy_officer="ok")
    ),
    "privacy:alert_acknowledge": Route(
        "POST",
        "/privacy/alerts/{alert}/acknowledge/",
        outcomes("forbidden", public="login", supervisor="redirect", privacy_officer="redirect"),
    ),
    "privacy:incidents": Route(
        "GET", "/privacy/incidents/", outcomes("forbidden", public="login", privacy_officer="ok")
    ),
    "privacy:incident": Route(
        "GET", "/privacy/incidents/{incident}/", outcomes("forbidden", public="login", privacy_officer="ok")
    ),
    # Every admin page: only verified staff with the admin flag get in (none of these personas);
    # anyone else signed in is refused, not sent to sign in again (that looped).
    "admin:*": Route("GET", "/admin/", outcomes("login")),
}

WS_MATRIX: dict[str, tuple[str, set[str]]] = {
    # Staff without a second factor get no socket at all, not even the widget's.
    "ws/chat/": ("/ws/chat/", set(PRINCIPALS) - {"anonymous", "staff_without_mfa"}),
    "ws/agent/queue/": ("/ws/agent/queue/", CONSOLE),
    "ws/agent/conversations/<str:conversation_id>/": ("/ws/agent/conversations/{agent_conv}/", {"agent", "supervisor"}),
}


def _url_names(resolver: URLResolver, namespace: str = "") -> set[str]:
    names = set()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            if entry.namespace == "admin":
                names.add("admin:*")
                continue
            names |= _url_names(entry, inner)
        elif isinstance(entry, URLPattern):
            names.add(f"{namespace}{entry.name}")
    return names


def test_every_route_has_a_matrix_entry() -> None:
    assert _url_names(get_resolver()) == set(HTTP_MATRIX)
    assert {str(p.pattern) for p in routing.websocket_urlpatterns} == set(WS_MATRIX)


@pytest.fixture
def world(
    customer: User, other_customer: User, agent: User, other_agent: User, supervisor: User, privacy_officer: User
) -> dict[str, Any]:
    """The personas of tests/conftest.py, an agent who never set up a second factor, and one
    object of each kind: a conversation assigned to the agent, the customer's, a data request."""
    people = {
        "customer": customer,
        "other_customer": other_customer,
        "agent": agent,
        "other_agent": other_agent,
        "supervisor": supervisor,
        "privacy_officer": privacy_officer,
        "staff_without_mfa": UserFactory(username="staff_without_mfa", role=User.Role.AGENT),
    }
    agent_conv = services.conversation_start(customer=None)
    services.conversation_hand_over(conversation_id=agent_conv.pk)
    services.conversation_claim(conversation_id=agent_conv.pk, agent=people["agent"])
    customer_conv = services.conversation_start(customer=people["customer"])
    data_request = lifecycle.data_request_open_for_account(kind="deletion", user=people["customer"])
    now = timezone.now()
    alert = Alert.objects.create(
        rule=Alert.Rule.choices[0][0], subject_user_id=people["agent"].pk, window_start=now, window_end=now, count=1
    )
    incident = incidents.incident_open(
        officer=people["privacy_officer"], title="Laptop lost", description="", discovered_at=now
    )
    own_reply = canned.canned_reply_create(owner=people["agent"], shortcut="mine", title="Mine", body="Hi")
    shared_reply = canned.canned_reply_create(owner=None, shortcut="hi", title="Hi", body="Hi {customer_first_name}")
    return {
        "users": people,
        "canned": own_reply.pk,
        "shared_canned": shared_reply.pk,
        "agent_conv": agent_conv.pk,
        "customer_conv": customer_conv.pk,
        "data_request": data_request.pk,
        "alert": alert.pk,
        "incident": incident.pk,
    }


def _client(principal: str, people: dict[str, Any]) -> Client:
    if principal == "anonymous":
        return Client()
    if principal == "visitor":
        client = Client()
        client.get("/chat/")
        return client
    user = people["users"][principal]
    return signed_in_client(user, verified=principal != "staff_without_mfa")


def _label(response: Any) -> str:
    code = response.status_code
    if code == 302:
        if "/login/" in response.url:
            return "login"
        if response.url.startswith("/accounts/mfa/setup/") or response.url.startswith("/accounts/mfa/verify/"):
            return "mfa"
        return "redirect"
    return {200: "ok", 403: "forbidden", 404: "missing", 405: "method"}.get(code, str(code))


HTTP_CASES = [(name, principal) for name in HTTP_MATRIX for principal in PRINCIPALS]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "principal"), HTTP_CASES, ids=[f"{n}-{p}" for n, p in HTTP_CASES])
def test_http_access(name: str, principal: str, world: dict[str, Any]) -> None:
    route = HTTP_MATRIX[name]
    people = world
    client = _client(principal, people)
    path = route.path.format(
        agent_conv=people["agent_conv"],
        customer_conv=people["customer_conv"],
        data_request=people["data_request"],
        alert=people["alert"],
        incident=people["incident"],
        canned=people["canned"],
        shared_canned=people["shared_canned"],
    )
    response = client.post(path) if route.method == "POST" else client.get(path)
    assert _label(response) == route.expected[principal], (
        name,
        principal,
        response.status_code,
        response.get("Location"),
    )


@pytest.mark.django_db
def test_a_signed_in_non_admin_is_refused_by_the_admin_not_sent_round_in_circles(world: dict[str, Any]) -> None:
    people = world
    for principal in ("customer", "privacy_officer"):
        response = _client(principal, people).get("/admin/", follow=True)
        assert response.status_code == 403 and len(response.redirect_chain) == 1, principal


def test_login_and_logout_reject_the_other_method() -> None:
    assert Client().get("/accounts/logout/").status_code == 405


WS_CASES = [(route, principal) for route in WS_MATRIX for principal in PRINCIPALS]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("route", "principal"), WS_CASES, ids=[f"{r}-{p}" for r, p in WS_CASES])
async def test_socket_access(route: str, principal: str, world: dict[str, Any]) -> None:
    template, allowed = WS_MATRIX[route]
    people = world
    if principal == "anonymous":
        session = None
    elif principal == "visitor":
        session = await sync_to_async(visitor_session)()
    else:
        user = people["users"][principal]
        session = await sync_to_async(login_session)(user, verified=principal != "staff_without_mfa")
    sock = Socket(template.format(agent_conv=people["agent_conv"]), session)
    opened = await sock.connect()
    await sock.close()
    assert opened == (principal in allowed), (route, principal, sock.close_code)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_forged_ids_over_the_socket_look_missing(world: dict[str, Any]) -> None:
    people = world
    session = await sync_to_async(login_session)(people["users"]["other_agent"])
    codes = []
    for target in (people["agent_conv"], uuid.uuid4()):
        sock = Socket(f"/ws/agent/conversations/{target}/", session)
        assert not await sock.connect()
        codes.append(sock.close_code)
    assert codes == [4403, 4403]
