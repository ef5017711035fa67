"""Faults under live sockets, with two ASGI processes on PostgreSQL and Redis: a socket idle past
every Redis timeout stays open, and a Redis restart or a killed process loses and duplicates
nothing (clients reconnect and resume, as static/js/socket.js does)."""

from __future__ import annotations

import json
import os
import signal
from contextlib import ExitStack
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from accounts.models import User
from conversations import services
from conversations.layer_guard import CLOSE_LAYER_UNAVAILABLE
from conversations.models import Conversation
from tests.factories import UserFactory
from tests.integration.chat_clients import (
    ChatClient,
    assert_nothing_lost_or_duplicated,
    converse_through,
    pump_until,
    visitor_cookie,
)
from tests.integration.private_services import redis_server
from tests.servers import asgi_process, asgi_server, server_log, wait_for
from tests.wsclient import login_session

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

IDLE = 65  # seconds: past redis-py 8's default 5 s read timeout and the layer's own 30 s


def _conversation(customer_servers: list[str], agent_servers: list[str]) -> tuple[ChatClient, ChatClient, Any]:
    """A visitor's conversation handed to an agent: the customer on the first of its servers, the
    agent on the first of theirs."""
    agent = UserFactory(username=f"agent{User.objects.count()}", role=User.Role.AGENT)
    customer = ChatClient(customer_servers, "/ws/chat/", visitor_cookie(customer_servers[0]))
    customer.open()
    customer.ws.send(json.dumps({"type": "handoff"}))
    wait_for(lambda: Conversation.objects.filter(state=Conversation.State.WAITING).exists(), what="the handoff")
    conversation = Conversation.objects.get()
    services.conversation_claim(conversation_id=conversation.pk, agent=agent)
    agent_client = ChatClient(agent_servers, f"/ws/agent/conversations/{conversation.pk}/", login_session(agent))
    agent_client.open()
    assert agent_client.status == "agent"
    # The claim was announced on this test's channel layer, which may not be the servers' (a
    # private Redis): the customer catches up as after any reconnect.
    customer.ws.close()
    customer.ws = None
    customer.open()
    return customer, agent_client, conversation


def test_a_socket_idle_for_a_minute_on_redis_stays_open_and_still_receives(
    requires_redis: None, requires_postgres: None
) -> None:
    with asgi_server() as a, asgi_server() as b:
        customer, agent, conversation = _conversation([a], [b])
        pump_until([customer, agent], lambda: 1 in customer.seen and 1 in agent.seen, what="the greeting")
        # Nothing either way for over a minute: the socket must neither close nor fail.
        try:
            customer.ws.recv(timeout=IDLE)
            pytest.fail("a frame arrived on an idle conversation")
        except TimeoutError:
            pass
        except ConnectionClosed as closed:
            pytest.fail(f"the idle socket closed: {closed}")
        agent.post("after a quiet minute")
        pump_until([agent], lambda: not agent.unacked, what="the ack")
        pump_until(
            [customer],
            lambda: any(m["body"] == "after a quiet minute" for m in customer.seen.values()),
            what="the message on the socket that was idle",
        )
        assert customer.close_codes == [] and agent.close_codes == [], "a socket was reconnected"
        logs = server_log(a).read_text(errors="replace") + server_log(b).read_text(errors="replace")
        assert "Traceback" not in logs and "TimeoutError" not in logs, logs[-3000:]
        customer.close()
        agent.close()


def test_a_redis_restart_mid_conversation_loses_and_duplicates_nothing(requires_postgres: None) -> None:
    with ExitStack() as stack:
        redis = stack.enter_context(redis_server())
        env = {"REDIS_URL": redis.url, "CELERY_BROKER_URL": redis.url}
        a = stack.enter_context(asgi_server(extra_env=env))
        b = stack.enter_context(asgi_server(extra_env=env))
        customer, agent, conversation = _conversation([a, b], [b, a])
        converse_through(customer, agent, redis.restart)
        assert_nothing_lost_or_duplicated(conversation, customer, agent, per_side=10)
        # Both sockets saw the layer fail and were closed with the documented code, not crashed.
        assert CLOSE_LAYER_UNAVAILABLE in customer.close_codes + agent.close_codes
        logs = server_log(a).read_text(errors="replace") + server_log(b).read_text(errors="replace")
        assert "Traceback" not in logs, logs[-3000:]
        customer.close()
        agent.close()


def test_an_asgi_process_killed_mid_conversation_loses_and_duplicates_nothing(
    requires_redis: None, requires_postgres: None
) -> None:
    with ExitStack() as stack:
        a, process_a = stack.enter_context(asgi_process())
        b = stack.enter_context(asgi_server())
        customer, agent, conversation = _conversation([a, b], [b])

        def kill_a() -> None:
            os.kill(process_a.pid, signal.SIGKILL)
            process_a.wait(timeout=10)

        converse_through(customer, agent, kill_a)
        assert_nothing_lost_or_duplicated(conversation, customer, agent, per_side=10)
        assert customer.close_codes, "the customer's socket on the killed process never closed"
        assert agent.close_codes == [], "the agent's socket on the surviving process was disturbed"
        customer.close()
        agent.close()
