"""The one way a chat message is drawn, for every page and every socket.

Server pages include it through the `chat_message` template tag; the sockets put the same HTML in
each `message` frame (`html`), and the browser inserts it as it is. Message text is escaped; the
only markup added is the link to the privacy notice in bot and system messages.
"""

from __future__ import annotations

import datetime as dt

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from conversations import masking
from conversations.models import Message

# What customers see as each sender's name; staff see Message.Sender's labels.
CUSTOMER_LABELS = {
    Message.Sender.CUSTOMER: "You",
    Message.Sender.BOT: "Assistant (automated)",
    Message.Sender.AGENT: "Agent",
    Message.Sender.SYSTEM: "Update",
}
LINKED_SENDERS = (Message.Sender.BOT, Message.Sender.SYSTEM)


def sender_label(sender: str, *, customer_view: bool) -> str:
    if customer_view:
        return CUSTOMER_LABELS.get(sender, sender)
    return Message.Sender(sender).label if sender in Message.Sender.values else sender


def body_html(*, sender: str, body: str) -> SafeString:
    """The text, escaped; in bot and system messages the privacy notice's path becomes a link."""
    text = escape(body)
    if sender in LINKED_SENDERS:
        notice = reverse("privacy:notice")
        text = text.replace(notice, format_html('<a href="{}">our privacy notice</a>', notice))
    return mark_safe(text)  # noqa: S308 - escaped above; only our own link added


def message_html(
    *,
    seq: int | None,
    sender: str,
    body: str,
    at: dt.datetime | str | None,
    customer_view: bool,
    masked: list[str] | tuple[str, ...] = (),
) -> SafeString:
    """One message as an <li>. `seq` and `at` are None for a message still being sent; `masked`
    (the kinds masked out of it) adds a line saying what was removed."""
    if isinstance(at, str):
        at = dt.datetime.fromisoformat(at)
    return render_to_string(
        "chat/message.html",
        {
            "seq": seq,
            "sender": sender,
            "label": sender_label(sender, customer_view=customer_view),
            "body": body_html(sender=sender, body=body),
            "masked": masking.masked_note(masked, customer_view=customer_view),
            "at": at,
        },
    )
