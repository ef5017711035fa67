"""State changes of accounts and their sessions."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from accounts.models import UserSession

if TYPE_CHECKING:
    from django.http import HttpRequest

    from accounts.models import User


def user_group(user_id: int) -> str:
    """Every socket of a signed-in user listens here."""
    return f"user.{user_id}"


def session_group(session_key: str) -> str:
    """Every socket opened with this session listens here (the key itself never leaves the server)."""
    return "sess." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def _close_sockets_on_commit(group: str) -> None:
    def send() -> None:
        async_to_sync(get_channel_layer().group_send)(group, {"type": "session.ended"})

    transaction.on_commit(send, robust=True)


def sessions_clear_expired() -> int:
    """Delete expired sessions (they hold which conversation a visitor's browser owns)."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    UserSession.objects.exclude(session_key__in=Session.objects.values("session_key")).delete()
    return deleted


def session_record(*, user: User, session_key: str) -> None:
    """Remember that this session is the user's (call after sign-in and after a key rotation)."""
    UserSession.objects.update_or_create(session_key=session_key, defaults={"user": user})


def session_rotate(*, request: HttpRequest) -> None:
    """Give the request's session a new key (fixation defence), keeping the user's index true."""
    old = request.session.session_key
    request.session.cycle_key()
    with transaction.atomic():
        if old:
            UserSession.objects.filter(session_key=old).delete()
        if request.user.is_authenticated:
            session_record(user=request.user, session_key=request.session.session_key)


def sessions_end(*, user: User, keep_session_key: str | None = None) -> int:
    """End the user's sessions everywhere (all, or all but `keep_session_key`) and close their
    sockets on every ASGI process. Returns how many sessions ended."""
    with transaction.atomic():
        keys = list(
            UserSession.objects.filter(user=user)
            .exclude(session_key=keep_session_key or "")
            .values_list("session_key", flat=True)
        )
        Session.objects.filter(session_key__in=keys).delete()
        UserSession.objects.filter(session_key__in=keys).delete()
        if keep_session_key is None:
            _close_sockets_on_commit(user_group(user.pk))
        else:
            for key in keys:
                _close_sockets_on_commit(session_group(key))
    return len(keys)


def user_access_change(*, user: User, fields: set[str]) -> None:
    """After a change to what a user may do (role, active, superuser, staff): their sessions end,
    so nothing granted under the old rights outlives the change."""
    if fields & {"role", "is_active", "is_superuser", "is_staff"}:
        sessions_end(user=user)
