"""Reads of people's records that are recorded in the audit trail: an administrator opening the
admin's pages about accounts, their second factors and sign-in attempts."""

from __future__ import annotations

from typing import Any

from audit.actions import Action
from audit.services import record


def admin_records_open(
    *, viewer: Any, object_type: str, object_id: str = "", page: str, rows: int | None = None
) -> None:
    """Record that `viewer` was shown an admin page about people (names, e-mail addresses,
    usernames, client addresses): CUSTOMER_OPENED on the record (`object_id`), or on the list
    (`rows` shown, no id). Call once the page is about to be shown: the record exists and the
    viewer may see it (the admin decided)."""
    details: dict[str, Any] = {"page": page}
    if rows is not None:
        details["rows"] = rows
    record(Action.CUSTOMER_OPENED, actor=viewer, obj=(object_type, object_id), details=details)
