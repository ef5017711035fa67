"""Two ASGI server processes sharing PostgreSQL and Redis: the customer is connected to one, the
agent to the other, and messages flow both ways."""

from __future__ import annotations

import contextlib
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from contextlib import ExitStack
from http.cookies import SimpleCookie
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from accounts.models import User
from conversations import protocol, services
from conversations.models import Conversation, Message
from tests.factories import UserFactory
from tests.servers import asgi_server
from tests.wsclient import login_session

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _visitor_cookie(base: str) -> str:
    with urllib.request.urlopen(f"{base}/chat/", timeout=10) as response:  # noqa: S310
        cookie = SimpleCookie(response.headers["Set-Cookie"])
    return cookie["sessionid"].value


def _ws(base: str, path: str, session_key: str) -> Any:
    return connect(
        base.replace("http://", "ws://") + path,
        additional_headers={"Origin": base, "Cookie": f"sessionid={session_key}"},
        open_timeout=10,
    )


def _sign_out(base: str, session_key: str) -> None:
    """POST /accounts/logout/ as a browser would: CSRF cookie and form token from a page."""
    request = urllib.request.Request(f"{base}/accounts/mfa/", headers={"Cookie": f"sessionid={session_key}"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        page = response.read().decode()
        csrf_cookie = SimpleCookie(response.headers["Set-Cookie"])["csrftoken"].value
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    request = urllib.request.Request(
        f"{base}/accounts/logout/",
        data=urllib.parse.urlencode({"csrfmiddlewaretoken": token}).encode(),
        headers={"Cookie": f"sessionid={session_key}; csrftoken={csrf_cookie}"},
    )
    opener = urllib.request.build_opener(_NoRedirect)
    with contextlib.suppress(urllib.error.HTTPError):
        opener.open(request, timeout=10)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _recv_until(ws: Any, kind: str, **match: Any) -> dict[str, Any]:
    while True:
        frame = json.loads(ws.recv(timeout=10))
        protocol.validate_server_frame(frame)
        if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
            return frame


def test_customer_on_one_process_and_agent_on_another_talk_both_ways(
    requires_redis: None, requires_postgres: None
) -> None:
    agent = UserFactory(username="alex", first_name="Alex", role=User.Role.AGENT)
    agent_session = login_session(agent)
    with ExitStack() as stack:
        server_a = stack.enter_context(asgi_server())
        server_b = stack.enter_context(asgi_server())
        customer_ws = stack.enter_context(_ws(server_a, "/ws/chat/", _visitor_cookie(server_a)))
        assert _recv_until(customer_ws, "status") == {"type": "status", "state": "bot"}
        customer_ws.send(json.dumps({"type": "handoff"}))
        _recv_until(customer_ws, "status", state="waiting")
        conversation_id = Conversation.objects.get().pk

        queue_ws = stack.enter_context(_ws(server_b, "/ws/agent/queue/", agent_session))
        snapshot = _recv_until(queue_ws, "queue")
        assert [c["id"] for c in snapshot["conversations"]] == [str(conversation_id)]

        services.conversation_claim(conversation_id=conversation_id, agent=agent)
        _recv_until(customer_ws, "status", state="agent")
        agent_ws = stack.enter_context(_ws(server_b, f"/ws/agent/conversations/{conversation_id}/", agent_session))
        _recv_until(agent_ws, "status", state="agent")

        to_customer = {"type": "message", "client_id": str(uuid.uuid4()), "body": "Hello from process B"}
        agent_ws.send(json.dumps(to_customer))
        assert _recv_until(agent_ws, "ack")["client_id"] == to_customer["client_id"]
        got = _recv_until(customer_ws, "message", sender="agent")
        assert got["body"] == "Hello from process B"

        to_agent = {"type": "message", "client_id": str(uuid.uuid4()), "body": "Hello from process A"}
        customer_ws.send(json.dumps(to_agent))
        got = _recv_until(agent_ws, "message", sender="customer")
        assert got["body"] == "Hello from process A"

        customer_ws.send(json.dumps({"type": "typing"}))
        assert _recv_until(agent_ws, "typing") == {"type": "typing", "sender": "customer"}

        # The agent signs out through process A: their sockets on process B close.
        _sign_out(server_a, agent_session)
        for ws in (agent_ws, queue_ws):
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    ws.recv(timeout=10)
            assert closed.value.rcvd.code == 4403

    bodies = list(Message.objects.filter(conversation_id=conversation_id).values_list("sender", "body"))
    assert ("agent", "Hello from process B") in bodies and ("customer", "Hello from process A") in bodies


def test_a_role_change_closes_the_users_socket_on_another_process(
    requires_redis: None, requires_postgres: None
) -> None:
    from accounts import services as account_services

    agent = UserFactory(username="sam", role=User.Role.AGENT)
    session = login_session(agent)
    with asgi_server() as server, _ws(server, "/ws/agent/queue/", session) as queue_ws:
        _recv_until(queue_ws, "queue")
        agent.role = User.Role.CUSTOMER
        agent.save(update_fields=["role"])
        account_services.user_access_change(user=agent, fields={"role"})  # what the admin calls
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                queue_ws.recv(timeout=10)
        assert closed.value.rcvd.code == 4403
