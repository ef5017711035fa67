"""The business's masking policy over conversations.redaction: what is masked out of whose text
before anything keeps it, and how the removal is told (settings: REDACTION_*, SECURE_CHANNEL_TEXT).

Customers' messages lose every kind in REDACTION_KINDS. Staff text (agents' replies, internal
notes) loses the same kinds except phone numbers and e-mail addresses, which agents give out as
the business's own contact details; a customer's card number typed into a reply is masked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from django.conf import settings

from conversations import redaction
from conversations.models import Message
from conversations.redaction import Kind

# What staff may write in full: the business's contact details are theirs to give.
STAFF_KEEP = frozenset({Kind.PHONE, Kind.EMAIL})
# Kinds that are secrets: the bot says how to do the thing safely when it sees one removed.
SECRETS = frozenset(Kind) - {Kind.PHONE, Kind.EMAIL}


def mask_for(sender: str, body: str, *, claimed: Iterable[str] = ()) -> redaction.Masked:
    """`body` as it may be kept, from a customer (or, for staff text, an agent). `claimed`: the
    kinds the widget says it masked already (its "Send masked"); they count when they are kinds
    and the text holds masks, so the message can say what was removed."""
    kinds = set(settings.REDACTION_KINDS)
    if sender != Message.Sender.CUSTOMER:
        kinds -= STAFF_KEEP
    masked = redaction.mask(
        body,
        region=settings.REDACTION_PHONE_REGION,
        kinds=kinds,
        keep_domains=settings.REDACTION_KEEP_DOMAINS,
    )
    # Only kinds this policy masks, and only when the text holds masks.
    claimed = {Kind(k) for k in claimed if k in kinds} if redaction.MASK_CHAR in masked.text else set()
    if claimed - set(masked.kinds):
        masked = dataclasses.replace(masked, kinds=tuple(sorted(set(masked.kinds) | claimed)))
    return masked


def policy_labels() -> list[str]:
    """What customers' messages lose, in words, in REDACTION_KINDS' order (the privacy notice)."""
    labels = []
    for kind in settings.REDACTION_KINDS:
        label = redaction.LABELS[Kind(kind)].split(" ", 1)[1]
        if kind == Kind.PHONE:
            label += f" (in {settings.REDACTION_PHONE_REGION} and international formats)"
        labels.append(label)
    return labels


def _listed(kinds: Iterable[str], *, articles: bool = True) -> str:
    labels = [redaction.LABELS[Kind(kind)] for kind in sorted(kinds)]
    if not articles:
        labels = [label.split(" ", 1)[1] for label in labels]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def masked_note(kinds: Iterable[str], *, customer_view: bool) -> str:
    """The line under a message that had something masked out of it; "" when nothing was."""
    kinds = list(kinds)
    if not kinds:
        return ""
    if customer_view:
        return f"We removed {_listed(kinds)} from this message to keep it safe."
    what = _listed(kinds, articles=False)
    return f"{what[0].upper()}{what[1:]} removed before storing."


def secrets_advice(kinds: Iterable[str]) -> str:
    """What the bot says after a secret was masked out of the customer's message; "" if none was."""
    secrets = [kind for kind in kinds if kind in SECRETS]
    if not secrets:
        return ""
    return (
        f"I removed {_listed(secrets)} from your message: please don't share it in this chat. "
        f"{settings.SECURE_CHANNEL_TEXT}"
    )
