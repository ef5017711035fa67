from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from conversations import masking, rendering
from conversations.models import Message

register = template.Library()


@register.simple_tag
def chat_message(message: Message, customer_view: bool = False) -> SafeString:
    """A stored message, drawn as the sockets draw it (conversations.rendering)."""
    return rendering.message_html(
        seq=message.seq,
        sender=message.sender,
        body=message.body,
        at=message.created_at,
        customer_view=customer_view,
        masked=message.masked,
    )


@register.simple_tag
def pending_message() -> SafeString:
    """The widget's own message while it is being sent: the same markup, filled in by the script."""
    return rendering.message_html(seq=None, sender=Message.Sender.CUSTOMER, body="", at=None, customer_view=True)


@register.simple_tag
def masked_note(kinds: list[str]) -> str:
    """A staff page's line for what was masked out of a note (conversations.masking)."""
    return masking.masked_note(kinds, customer_view=False)
