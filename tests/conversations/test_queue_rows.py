"""One renderer for a queue row: live rows are copies of the page's own row template
(console/queue_row.html), times in the same shape as every other time ("j M, H:i")."""

from __future__ import annotations

import re

import pytest

from conversations import services
from conversations.models import Conversation
from conversations.views import ROW_PLACEHOLDER
from tests.auth import signed_in_client

TIME = re.compile(r'<time datetime="[^"]+" data-local>\d{1,2} [A-Z][a-z]{2}, \d\d:\d\d</time>')


def _rows(html: str) -> list[str]:
    return re.findall(r"<tr data-id=.*?</tr>", html, flags=re.S)


def _filled(prototype: str, conversation: Conversation) -> str:
    """What queue.js does to a copy of a row template: the id in, cells of absent times emptied
    (the times themselves are compared by shape, not value)."""
    row = prototype.replace(str(ROW_PLACEHOLDER), str(conversation.pk))
    row = row.replace(f"#{str(ROW_PLACEHOLDER)[:8]}", f"#{conversation.short_id}")
    for field in ("waiting_since", "last_message_at"):
        if getattr(conversation, field) is None:
            row = re.sub(rf'(<td data-field="{field}"[^>]*>).*?(</td>)', r"\1\2", row, flags=re.S)
    return row


def _normalized(row: str) -> str:
    row = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", row)
    row = re.sub(r'datetime="[^"]+"|data-since="[^"]+"', "", row)
    return re.sub(r"data-local>[^<]+<", "data-local><", row)


@pytest.mark.django_db
def test_live_queue_rows_are_copies_of_the_server_rows(agent: object) -> None:
    waiting = services.conversation_start(customer=None)
    services.conversation_hand_over(conversation_id=waiting.pk)
    mine = services.conversation_start(customer=None)
    services.conversation_hand_over(conversation_id=mine.pk)
    services.conversation_claim(conversation_id=mine.pk, agent=agent)

    html = signed_in_client(agent).get("/console/").content.decode()
    page, templates = html.split('<template class="queue-row"', 1)
    served = {row.split('"')[1]: row for row in _rows(page)}
    assert set(served) == {str(waiting.pk), str(mine.pk)}
    assert len(TIME.findall(served[str(waiting.pk)])) == 2  # waiting since, last message
    assert "Claim</button>" in served[str(waiting.pk)] and ">Open</a>" in served[str(mine.pk)]

    prototypes = dict(re.findall(r'data-state="(\w+)">(<tr .*?</tr>)\s*</template>', templates, flags=re.S))
    assert set(prototypes) == set(Conversation.State.values)
    for conversation in (waiting, mine):
        conversation.refresh_from_db()
        live = _filled(prototypes[conversation.state], conversation)
        assert _normalized(live) == _normalized(served[str(conversation.pk)])
