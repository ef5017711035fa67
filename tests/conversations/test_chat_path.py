"""The chat path under load: sockets' database work runs concurrently, broadcasts leave from the
event loop after commit, the bot answers after the customer's ack, a message costs few statements,
and a saturated process refuses new work visibly (busy, 1013) instead of queueing it."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from chatbot_site import realtime
from conversations import services
from conversations.models import Conversation, Message
from tests.wsclient import Socket, async_visitor_session

pytestmark = pytest.mark.django_db(transaction=True)


def _msg(body: str) -> dict[str, str]:
    return {"type": "message", "client_id": str(uuid.uuid4()), "body": body}


async def _widget() -> Socket:
    sock = Socket("/ws/chat/", await async_visitor_session())
    assert await sock.connect()
    assert (await sock.recv())["type"] == "status"
    return sock


@pytest.mark.asyncio
async def test_database_calls_of_different_sockets_run_at_the_same_time() -> None:
    # Two calls that each wait for the other: on one shared thread (channels' default) this never ends.
    both = threading.Barrier(2, timeout=10)

    def meet() -> int:
        both.wait()
        return Conversation.objects.count()

    assert await asyncio.wait_for(asyncio.gather(realtime.db_call(meet), realtime.db_call(meet)), 20) == [0, 0]


@pytest.mark.asyncio
async def test_broadcasts_of_a_call_are_sent_after_it_returns_and_only_when_committed() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("test.path", channel)
    sent_during_call: list[bool] = []

    def change(fail: bool) -> None:
        with transaction.atomic():
            realtime.group_send_on_commit("test.path", {"type": "x", "fail": fail})
            if fail:
                raise ValueError("rolled back")
        # Committed, but not yet sent: the call still runs.
        sent_during_call.append(True)

    await realtime.db_call(change, False)
    assert (await asyncio.wait_for(layer.receive(channel), 5))["fail"] is False
    with pytest.raises(ValueError, match="rolled back"):
        await realtime.db_call(change, True)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(channel), 0.5)
    assert sent_during_call == [True]
    await layer.group_discard("test.path", channel)


@pytest.mark.asyncio
async def test_the_customer_gets_the_ack_and_echo_before_the_bot_answers() -> None:
    sock = await _widget()
    frame = _msg("hello there")
    await sock.send(frame)
    got = [await sock.recv() for _ in range(3)]
    assert [f["type"] for f in got[:2]] == ["message", "ack"] or [f["type"] for f in got[:2]] == ["ack", "message"]
    assert got[2]["type"] == "message" and got[2]["sender"] == "bot" and got[2]["seq"] == 3
    await sock.close()


@pytest.mark.asyncio
async def test_the_bots_answers_come_in_the_order_of_the_customers_messages() -> None:
    sock = await _widget()
    frames = [_msg(f"question {i} about my password") for i in range(5)]
    for frame in frames:
        await sock.send(frame)
    messages = []
    while len(messages) < 10:
        got = await sock.recv()
        if got["type"] == "message":
            messages.append(got)
    stored = await sync_to_async(lambda: list(Message.objects.order_by("seq").values_list("seq", "sender")))()
    assert [s for _, s in stored[1:]] == ["customer", "bot"] * 5 or sorted(s for _, s in stored[1:]) == sorted(
        ["customer", "bot"] * 5
    )
    customer_seqs = [m["seq"] for m in messages if m["sender"] == "customer"]
    bot_seqs = [m["seq"] for m in messages if m["sender"] == "bot"]
    # Each answer follows the message it answers.
    assert all(b > c for c, b in zip(customer_seqs, bot_seqs, strict=True))
    assert [s for s, _ in stored] == list(range(1, 12))
    await sock.close()


def test_a_customer_message_and_the_bots_answer_take_few_statements() -> None:
    conversation = services.conversation_start(customer=None)
    services.message_post(  # warm the data key cache and the knowledge-base index
        conversation_id=conversation.pk, sender="customer", body="hello", client_id=uuid.uuid4()
    )
    with CaptureQueriesContext(connection) as post:
        result = services.message_post(
            conversation_id=conversation.pk, sender="customer", body="hello again", client_id=uuid.uuid4()
        )
    with CaptureQueriesContext(connection) as answer:
        services.bot_respond(conversation_id=conversation.pk, message=result.message)
    # The resend check, then BEGIN, UPDATE ... RETURNING (the seq and the row lock), INSERT, COMMIT.
    assert len(post) <= 5, [q["sql"] for q in post.captured_queries]
    assert len(answer) <= 6, [q["sql"] for q in answer.captured_queries]


def test_a_resend_racing_its_original_is_stored_once() -> None:
    conversation = services.conversation_start(customer=None)
    client_id = uuid.uuid4()
    # The original holds the row lock (as if still committing) while the resend arrives.
    results: list[services.PostResult] = []
    with transaction.atomic():
        services.message_post(conversation_id=conversation.pk, sender="customer", body="hi", client_id=client_id)
        # The resend, on another connection, waits for the lock, then finds the stored one.
        worker = threading.Thread(
            target=lambda: results.append(
                services.message_post(
                    conversation_id=conversation.pk, sender="customer", body="hi", client_id=client_id
                )
            )
        )
        worker.start()
        worker.join(0.5)
    worker.join(10)
    assert results and results[0].created is False and results[0].message.seq == 2
    assert Message.objects.filter(client_id=client_id).count() == 1


@pytest.fixture
def saturated(settings: object) -> object:
    """This process's database threads have more waiting than DATABASE_BACKLOG allows."""
    settings.DATABASE_BACKLOG = 1  # type: ignore[attr-defined]
    return settings


@pytest.mark.asyncio
async def test_a_saturated_process_answers_busy_and_stores_nothing(saturated: object) -> None:
    sock = await _widget()
    release = threading.Event()
    held = asyncio.ensure_future(realtime.db_call(release.wait, 10))
    await asyncio.sleep(0.1)
    try:
        frame = _msg("are you there")
        await sock.send(frame)
        error = await sock.recv()
        assert error["type"] == "error" and error["code"] == "busy" and error["retry_after"] >= 1
        # A new socket is turned away with "try again later".
        other = Socket("/ws/chat/", await async_visitor_session())
        assert not await other.connect()
        assert other.close_code == 1013
    finally:
        release.set()
        await held
    assert not await sync_to_async(Message.objects.filter(sender="customer").exists)()
    await sock.send(frame)  # later, the same frame goes through
    assert (await sock.recv_until("ack"))["client_id"] == frame["client_id"]
    await sock.close()


@pytest.mark.asyncio
async def test_the_channel_layer_waits_for_a_free_connection_instead_of_failing() -> None:
    layer = get_channel_layer()
    if not isinstance(layer, realtime.ChannelLayer):
        pytest.skip("the in-memory layer has no connections")
    narrow = realtime.ChannelLayer(
        hosts=layer.hosts, prefix=f"{layer.prefix}-narrow", max_connections=1, pool_timeout=10
    )
    channel = await narrow.new_channel()
    await narrow.group_add("narrow", channel)
    await asyncio.gather(*(narrow.group_send("narrow", {"type": "x", "n": n}) for n in range(20)))
    got = [await asyncio.wait_for(narrow.receive(channel), 5) for _ in range(20)]
    assert sorted(m["n"] for m in got) == list(range(20))
    await narrow.group_discard("narrow", channel)
    await narrow.flush()


@pytest.mark.asyncio
async def test_a_failing_backup_cleanup_is_logged_not_left_in_an_unawaited_task(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # channels_redis cleans a received message's backup in a task nobody awaits; when Redis fails
    # just then, its exception must not surface as "Task exception was never retrieved".
    unreachable = realtime.ChannelLayer(hosts=["redis://127.0.0.1:1/0"], prefix="nowhere", pool_timeout=1)
    await unreachable._clean_receive_backup(0, "nowhere.channel")
    assert "stayed in its backup queue" in caplog.text


@pytest.mark.asyncio
async def test_calls_waiting_long_for_a_thread_make_the_process_busy_for_a_moment(settings: object) -> None:
    settings.DATABASE_BUSY_SECONDS = 1e-9  # type: ignore[attr-defined]  # any wait is too long
    await realtime.db_call(Conversation.objects.count)
    assert realtime.busy()
    await asyncio.sleep(1.1)  # no call since: refusing must not keep the process refusing
    assert not realtime.busy()


@pytest.mark.asyncio
async def test_a_client_that_leaves_mid_send_closes_no_other_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    # uvicorn raises ClientDisconnected (an OSError) when a client left while it was being
    # answered; that is not the channel layer failing, so the process's other sockets stay open.
    from uvicorn.protocols.utils import ClientDisconnected

    from conversations.consumers import CustomerConsumer

    staying, leaving = await _widget(), await _widget()
    real_send = CustomerConsumer.send

    async def send(self: CustomerConsumer, *args: object, **kwargs: object) -> None:
        if "leaving" in json_text(kwargs):
            raise ClientDisconnected
        await real_send(self, *args, **kwargs)

    def json_text(kwargs: dict[str, object]) -> str:
        return str(kwargs.get("text_data") or "")

    monkeypatch.setattr(CustomerConsumer, "send", send)
    await leaving.send(_msg("leaving now"))
    await asyncio.sleep(0.5)
    await staying.send(_msg("still here"))
    assert (await staying.recv_until("ack"))["type"] == "ack"
    await staying.close()
    await leaving.close()
