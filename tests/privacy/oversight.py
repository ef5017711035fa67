"""Helpers of the oversight tests: audit entries in bulk (the pages read them, never verify them)."""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

from django.utils import timezone

from audit.actions import Action
from audit.models import Entry


def entries_bulk(
    count: int,
    *,
    actor: Any = None,
    role: str = "",
    action: str = Action.TRANSCRIPT_OPENED,
    at: dt.datetime | None = None,
    address: str = "",
    actors: list[Any] | None = None,
) -> list[Entry]:
    """`count` entries after the current head, as the trail viewer reads them (their MACs are
    placeholders: these tests are about reading, tests/audit about the chain). `actors`: taken in
    turn, entry after entry (instead of `actor`)."""
    head = Entry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    at = at or timezone.now()
    actors = actors or [actor]
    return Entry.objects.bulk_create(
        [
            Entry(
                seq=head + i + 1,
                at=at,
                actor_id=getattr(actors[i % len(actors)], "pk", None),
                actor_role=role or getattr(actors[i % len(actors)], "role", ""),
                action=action,
                object_type="conversation",
                object_id=f"c{head + i + 1}",
                client_address=address,
                prev_mac="0" * 64,
                mac="0" * 64,
            )
            for i in range(count)
        ],
        batch_size=1000,
    )


def csv_body(response: Any) -> bytes:
    """The trail export's body. It streams from an async iterator (what ASGI sends without
    collecting it first); the test client is sync, so Django consumes it whole, with a warning
    that says so (expected here)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume asynchronous iterators")
        return b"".join(response)
