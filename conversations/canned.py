"""Canned replies: adding, changing and deleting them, and filling one in for a conversation.

Callers authorize first (conversations.access: `canned_reply_access`, `may_manage_shared_replies`,
and the conversation's own access helper). Filling happens here, on the server, because one
placeholder is personal data (the customer's first name): the read is recorded in the audit trail
when, and only when, it reveals one. The filled text goes into the composer, where the agent may
still edit it; sending it is an ordinary `message_post`, masked like any message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction

from audit.actions import Action
from audit.services import record
from conversations import masking
from conversations.models import CannedReply, Conversation, Message

if TYPE_CHECKING:
    from accounts.models import User

# {name}: letters, digits and underscores between braces. Anything else in braces is left alone.
PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]+)\}")
KNOWN_PLACEHOLDERS = ("customer_first_name", "agent_first_name", "business_name")
# What {customer_first_name} becomes for a website visitor (no account) or a customer with no
# first name on record: "Hello there".
CUSTOMER_FALLBACK = "there"
TITLE_MAX = CannedReply._meta.get_field("title").max_length
SHORTCUT_MAX = CannedReply._meta.get_field("shortcut").max_length


class CannedReplyError(Exception):
    """A change that is well-formed but not possible (a shortcut already taken)."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field
        self.detail = detail


@dataclass(frozen=True)
class Filled:
    """A canned reply filled in for one conversation. `unknown`: placeholders left as written
    (misspelt or not supported), for the agent to fix; `will_mask`: the kinds that sending it as
    it is would mask out (conversations.masking), so the agent is told before sending."""

    text: str
    unknown: list[str]
    will_mask: list[str]


def placeholders_unknown(body: str) -> list[str]:
    """The placeholders in `body` that filling leaves as written, each once, in order of appearance."""
    return list(dict.fromkeys(name for name in PLACEHOLDER.findall(body) if name not in KNOWN_PLACEHOLDERS))


def _body_max() -> int:
    return int(settings.CHAT_MAX_BODY_CHARS)


def _validated(*, shortcut: str, title: str, body: str) -> tuple[str, str, str]:
    shortcut, title, body = shortcut.strip().lower(), title.strip(), body.strip()
    if not re.fullmatch(rf"[a-z0-9_-]{{1,{SHORTCUT_MAX}}}", shortcut):
        raise CannedReplyError("shortcut", "Use letters, digits, - or _ (no spaces) for the shortcut.")
    if not title or len(title) > TITLE_MAX:
        raise CannedReplyError("title", f"Give the reply a title of at most {TITLE_MAX} characters.")
    if not body or len(body) > _body_max():
        raise CannedReplyError("body", f"The reply needs a text of at most {_body_max()} characters.")
    return shortcut, title, body


def _saved(reply: CannedReply, *, update_fields: list[str] | None = None) -> CannedReply:
    try:
        with transaction.atomic():
            reply.save(update_fields=update_fields)
    except IntegrityError as exc:
        scope = "shared replies" if reply.is_shared else "your replies"
        raise CannedReplyError("shortcut", f"/{reply.shortcut} is already used by one of the {scope}.") from exc
    return reply


def canned_reply_create(*, owner: User | None, shortcut: str, title: str, body: str) -> CannedReply:
    """A new canned reply: personal to `owner`, or shared when `owner` is None (the caller checked
    `may_manage_shared_replies`). Raises CannedReplyError."""
    shortcut, title, body = _validated(shortcut=shortcut, title=title, body=body)
    return _saved(CannedReply(owner=owner, shortcut=shortcut, title=title, body=body))


def canned_reply_update(*, reply: CannedReply, shortcut: str, title: str, body: str) -> CannedReply:
    """Change a canned reply (its scope stays). Raises CannedReplyError."""
    reply.shortcut, reply.title, reply.body = _validated(shortcut=shortcut, title=title, body=body)
    return _saved(reply, update_fields=["shortcut", "title", "body", "updated_at"])


def canned_reply_delete(*, reply: CannedReply) -> None:
    """Delete a canned reply (its data key goes with it, vault.fields)."""
    reply.delete()


def canned_reply_fill(*, viewer: User, conversation: Conversation, reply: CannedReply) -> Filled:
    """`reply`'s text for `conversation`, as `viewer` (a console user who may write to it) would
    send it: {customer_first_name}, {agent_first_name} and {business_name} filled in, any other
    placeholder left as written and listed in `unknown`. Showing a signed-in customer's first name
    is a read of their personal data, recorded as CUSTOMER_OPENED on the conversation; a visitor's
    fallback ("there") reveals nothing and records nothing."""
    body = reply.body
    names = set(PLACEHOLDER.findall(body))
    values: dict[str, str] = {
        "agent_first_name": (viewer.first_name or "").strip() or viewer.get_username(),
        "business_name": settings.BUSINESS_NAME,
    }
    if "customer_first_name" in names:
        customer: Any = conversation.customer
        first_name = (customer.first_name or "").strip() if customer is not None else ""
        values["customer_first_name"] = first_name or CUSTOMER_FALLBACK
        if first_name:
            record(
                Action.CUSTOMER_OPENED,
                actor=viewer,
                obj=conversation,
                details={"field": "first_name", "via": "canned_reply"},
            )
    # One pass: a value that itself looks like a placeholder is not filled again.
    text = PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), body)
    will_mask = masking.mask_for(Message.Sender.AGENT, text).kinds
    return Filled(text=text, unknown=placeholders_unknown(body), will_mask=[str(kind) for kind in will_mask])
