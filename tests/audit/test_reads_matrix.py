"""Every staff page and staff socket that shows personal data records a read when a permitted
staff member opens it.

The staff routes are read from the URL conf (every view behind a staff role's `role_required`,
every admin page) and from the socket routes: a new one fails `test_every_staff_route_is_classified`
until it is listed below, either in READS (how a permitted member opens it, and what it records)
or in NO_PERSONAL_DATA (why it shows none).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.db.models import Max
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts import roles
from accounts.models import MfaFailure, User
from audit.actions import Action
from audit.models import Entry
from conversations import access as conversations_access
from conversations import canned, routing, services
from privacy import access as privacy_access
from privacy.data_requests import lifecycle
from privacy.models import Alert
from privacy.oversight import incidents
from tests.auth import reauthenticated, signed_in_client, totp_device
from tests.factories import conversation_with
from tests.wsclient import Socket, login_session

ADDRESS = "198.51.100.23"


@dataclass(frozen=True)
class Read:
    persona: str  # who may open it (a fixture of tests/conftest.py)
    path: Callable[[dict[str, Any]], str]  # the page of one object of the world below
    action: Action
    object_type: str
    object_key: str = ""  # the world's object whose id the entry names ("": none)


def _admin(name: str, key: str = "") -> Callable[[dict[str, Any]], str]:
    return lambda world: reverse(name, args=[world[key]] if key else [])


# The admin's models that are about people (names, e-mail addresses, usernames, client addresses):
# model name -> the world's object of that model.
PEOPLE_MODELS = {
    "accounts_user": "customer_id",
    "accounts_authenticatordevice": "device_id",
    "accounts_mfafailure": "mfa_failure_id",
    "axes_accessattempt": "attempt_id",
    "axes_accesslog": "access_log_id",
    "axes_accessfailurelog": "failure_log_id",
}

READS: dict[str, Read] = {
    "conversations:console_conversation": Read(
        "agent",
        lambda w: f"/console/conversations/{w['conversation_id']}/",
        Action.TRANSCRIPT_OPENED,
        "conversation",
        "conversation_id",
    ),
    "conversations:console_history": Read(
        "supervisor", lambda w: "/console/history/?state=agent", Action.HISTORY_SEARCHED, ""
    ),
    "privacy:officer_request": Read(
        "privacy_officer",
        lambda w: f"/privacy/officer/requests/{w['data_request_id']}/",
        Action.CUSTOMER_OPENED,
        "datarequest",
        "data_request_id",
    ),
    # Only when the reply shows a signed-in customer's first name (tests/conversations/test_canned.py).
    "conversations:canned_fill": Read(
        "agent",
        lambda w: f"/console/conversations/{w['conversation_id']}/canned/{w['canned_id']}/",
        Action.CUSTOMER_OPENED,
        "conversation",
        "conversation_id",
    ),
    "privacy:trail": Read("supervisor", lambda w: "/privacy/trail/", Action.TRAIL_VIEWED, ""),
    "privacy:alerts": Read("supervisor", lambda w: "/privacy/alerts/", Action.TRAIL_VIEWED, "alert"),
    "privacy:alert": Read(
        "supervisor", lambda w: f"/privacy/alerts/{w['alert_id']}/", Action.TRAIL_VIEWED, "alert", "alert_id"
    ),
    "privacy:incident": Read(
        "privacy_officer",
        lambda w: f"/privacy/incidents/{w['incident_id']}/",
        Action.TRAIL_VIEWED,
        "incident",
        "incident_id",
    ),
    "admin:auth_user_password_change": Read(
        "superuser",
        _admin("admin:auth_user_password_change", "customer_id"),
        Action.CUSTOMER_OPENED,
        "user",
        "customer_id",
    ),
    **{
        f"admin:{model}_{page}": Read(
            "superuser",
            _admin(f"admin:{model}_{page}", "" if page == "changelist" else key),
            Action.CUSTOMER_OPENED,
            model.split("_", 1)[1],
            "" if page == "changelist" else key,
        )
        for model, key in PEOPLE_MODELS.items()
        for page in ("changelist", "change", "history", "delete")
    },
}

_NOTHING_ADMIN = "the administration's frame, or models that hold nobody's personal data"
NO_PERSONAL_DATA: dict[str, str] = {
    "conversations:console": "the queue: states and times, which agent has what; never a customer's details",
    "conversations:console_dashboard": "counts and durations for the team and per agent; agents' names, no customer's",
    "conversations:console_claim": "a POST acting on a conversation: recorded as the action (test_events_conversations)",
    "conversations:console_assign": "a POST acting on a conversation: recorded as the action",
    "conversations:console_resolve": "a POST acting on a conversation: recorded as the action",
    "conversations:console_hold": "a POST acting on a conversation: recorded as the action",
    "conversations:canned_list": "shared replies (the business's text) and the viewer's own; no customer's data",
    "conversations:canned_new": "an empty form",
    "conversations:canned_edit": "one of the viewer's own replies, or a shared one for a supervisor",
    "conversations:canned_delete": "a POST deleting one of the viewer's own (or a shared) replies",
    "privacy:officer_queue": "request ids, kinds, statuses and dates; no address, no reason",
    "privacy:trail_export": "asks for the password again, then records the export (tests/privacy/test_trail_viewer.py)",
    "privacy:alert_acknowledge": "a POST acting on an alert",
    "privacy:incidents": "titles, dates and deadlines of incidents; their entries are on each incident's page",
    **dict.fromkeys(
        [
            "admin:index",
            "admin:app_list",
            "admin:login",
            "admin:logout",
            "admin:password_change",
            "admin:password_change_done",
            "admin:jsi18n",
        ],
        _NOTHING_ADMIN,
    ),
    "admin:view_on_site": "a redirect to the site (no model here has a page there)",
    "admin:autocomplete": "answers only for an admin's autocomplete_fields, and no admin has any",
    **{
        f"admin:{model}_{page}": _NOTHING_ADMIN
        for model in (
            "auth_group",
            "django_celery_beat_periodictask",
            "django_celery_beat_clockedschedule",
            "django_celery_beat_crontabschedule",
            "django_celery_beat_solarschedule",
            "django_celery_beat_intervalschedule",
            "conversations_knowledgearticle",
            "privacy_retentionrun",
        )
        for page in ("changelist", "add", "change", "history", "delete")
    },
    **{
        f"admin:{model}_add": "an empty form (or refused: attempts and failures are never added)"
        for model in PEOPLE_MODELS
    },
}

# Staff sockets: route -> what it records when a permitted member connects, or why it shows nothing.
WS_READS = {"ws/agent/conversations/<str:conversation_id>/": Action.TRANSCRIPT_OPENED}
WS_NO_PERSONAL_DATA = {"ws/agent/queue/": "queue metadata: states and times, which agent has what"}
WS_NOT_STAFF = {"ws/chat/"}

STAFF_PREDICATES = {
    roles.is_staff,
    roles.is_console_user,
    roles.is_supervisor,
    roles.is_privacy_officer,
    privacy_access.may_view_trail,
    privacy_access.may_handle_incidents,
    conversations_access.may_see_dashboard,
}


def _staff_routes(resolver: URLResolver, namespace: str = "") -> set[str]:
    """URL names of the views behind a staff role, and of every admin page (the admin's unnamed
    catch-all only redirects to a change page)."""
    names: set[str] = set()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            names |= _staff_routes(entry, f"{namespace}{entry.namespace}:" if entry.namespace else namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            predicate = getattr(entry.callback, "role_required", None)
            assert predicate is None or predicate in STAFF_PREDICATES | {roles.is_customer}, entry
            if namespace.startswith("admin:") or predicate in STAFF_PREDICATES:
                names.add(f"{namespace}{entry.name}")
    return names


def test_every_staff_route_is_classified() -> None:
    staff = _staff_routes(get_resolver())
    assert not set(READS) & set(NO_PERSONAL_DATA)
    assert staff == set(READS) | set(NO_PERSONAL_DATA), (
        f"unclassified: {sorted(staff - set(READS) - set(NO_PERSONAL_DATA))}; "
        f"gone: {sorted((set(READS) | set(NO_PERSONAL_DATA)) - staff)}"
    )
    sockets = {str(p.pattern) for p in routing.websocket_urlpatterns}
    assert sockets == set(WS_READS) | set(WS_NO_PERSONAL_DATA) | WS_NOT_STAFF


@pytest.fixture
def world(customer: User, agent: User, privacy_officer: User) -> dict[str, Any]:
    """One object of each kind a staff page shows."""
    now = timezone.now()
    alert = Alert.objects.create(
        rule=Alert.Rule.choices[0][0], subject_user_id=agent.pk, window_start=now, window_end=now, count=1
    )
    incident = incidents.incident_open(officer=privacy_officer, title="Laptop lost", description="", discovered_at=now)
    conversation = conversation_with(customer, "hello")
    services.conversation_hand_over(conversation_id=conversation.pk)
    services.conversation_claim(conversation_id=conversation.pk, agent=agent)
    data_request = lifecycle.data_request_open_for_account(kind="deletion", user=customer)
    base = {"user_agent": "test", "ip_address": "192.0.2.1", "username": "customer", "http_accept": "*/*"}
    reply = canned.canned_reply_create(owner=None, shortcut="greet", title="Greeting", body="Hi {customer_first_name}")
    return {
        "canned_id": str(reply.pk),
        "conversation_id": str(conversation.pk),
        "data_request_id": str(data_request.pk),
        "customer_id": str(customer.pk),
        "device_id": str(totp_device(customer).pk),
        "mfa_failure_id": str(MfaFailure.objects.create(user=customer).pk),
        "attempt_id": str(
            AccessAttempt.objects.create(**base, path_info="/", get_data="", post_data="", failures_since_start=1).pk
        ),
        "access_log_id": str(AccessLog.objects.create(**base, path_info="/").pk),
        "failure_log_id": str(AccessFailureLog.objects.create(**base, path_info="/").pk),
        "alert_id": str(alert.pk),
        "incident_id": str(incident.pk),
    }


def _head() -> int:
    return Entry.objects.aggregate(seq=Max("seq"))["seq"] or 0


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(READS))
def test_a_staff_page_with_personal_data_records_the_read(name: str, world: dict[str, Any], request: Any) -> None:
    read = READS[name]
    user = request.getfixturevalue(read.persona)
    client = reauthenticated(signed_in_client(user))
    head = _head()
    response = client.get(read.path(world), REMOTE_ADDR=ADDRESS)
    assert response.status_code == 200, (name, response.status_code, response.get("Location"))
    entries = list(Entry.objects.filter(seq__gt=head, action=read.action))
    assert len(entries) == 1, (name, [(e.action, e.object_type, e.object_id) for e in entries])
    entry = entries[0]
    assert (entry.actor_id, entry.outcome, entry.client_address) == (user.pk, "ok", ADDRESS)
    assert entry.object_type == read.object_type
    assert entry.object_id == (world[read.object_key] if read.object_key else "")


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("route", sorted(WS_READS))
async def test_a_staff_socket_with_personal_data_records_the_read(
    route: str, world: dict[str, Any], agent: User
) -> None:
    session = await sync_to_async(login_session)(agent)
    head = await sync_to_async(_head)()
    sock = Socket("/" + route.replace("<str:conversation_id>", world["conversation_id"]), session)
    assert await sock.connect()
    await sock.close()
    entries = await sync_to_async(lambda: list(Entry.objects.filter(seq__gt=head)))()
    assert [(e.action, e.actor_id, e.object_id, e.outcome) for e in entries] == [
        (WS_READS[route], agent.pk, world["conversation_id"], "ok")
    ]
