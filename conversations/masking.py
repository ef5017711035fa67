"""The business's masking policy over conversations.redaction: what is masked out of whose text
before anything keeps it (settings: REDACTION_KINDS, REDACTION_PHONE_REGION, REDACTION_KEEP_DOMAINS).

Customers' messages lose every kind in REDACTION_KINDS. Staff text (agents' replies, internal
notes) loses the same kinds except phone numbers and e-mail addresses, which agents give out as
the business's own contact details.
"""

from __future__ import annotations

from django.conf import settings

from conversations import redaction
from conversations.models import Message
from conversations.redaction import Kind

# What staff may write in full: the business's contact details are theirs to give.
STAFF_KEEP = frozenset({Kind.PHONE, Kind.EMAIL})


def mask_for(sender: str, body: str) -> redaction.Masked:
    """`body` as it may be kept, from a customer (or, for staff text, an agent)."""
    kinds = set(settings.REDACTION_KINDS)
    if sender != Message.Sender.CUSTOMER:
        kinds -= STAFF_KEEP
    return redaction.mask(
        body,
        region=settings.REDACTION_PHONE_REGION,
        kinds=kinds,
        keep_domains=settings.REDACTION_KEEP_DOMAINS,
    )
