"""Access to accounts. Lookups return the object or raise `NotFound`: the same for "missing" and
"forbidden", so ids can't be probed."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from accounts import factors
from accounts.models import User
from accounts.roles import console_q, is_console_user, is_customer, is_privacy_officer, is_supervisor


class NotFound(Exception):
    """The object does not exist or the principal may not see it (deliberately the same)."""


def as_uuid(value: Any) -> uuid.UUID:
    """An id from a URL or a frame as a UUID; NotFound for anything else."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError) as exc:
        raise NotFound from exc


def role_required(predicate: Callable[[Any], bool], *, hidden: bool = False) -> Callable[..., Any]:
    """A view for the principals `predicate` (an accounts.roles predicate) admits. Anyone not
    signed in is sent to sign in (LoginRequiredMiddleware does so first: this holds even for a view
    that is marked public by mistake); anyone else signed in is refused with 403, or with 404 when
    `hidden` (pages whose existence says nothing, like a customer's own conversations)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            if not predicate(request.user):
                if hidden:
                    raise Http404
                raise PermissionDenied("This page is not for your account.")
            return view(request, *args, **kwargs)

        wrapped.role_required = predicate  # type: ignore[attr-defined]  # read by the URL walk test
        return wrapped

    return decorator


def landing_page(user: Any) -> str | None:
    """Where a signed-in principal starts (a URL name), or None for the plain account page."""
    if is_console_user(user):
        return "conversations:console"
    if is_customer(user):
        return "conversations:my_conversations"
    if is_privacy_officer(user):
        return "privacy:officer_queue"
    return None


def is_own_account(user: Any, account: Any) -> bool:
    """Is `account` the one this principal is signed in as?"""
    return bool(user is not None and user.is_authenticated and user.pk == account.pk)


def assignable_agents(user: Any) -> QuerySet[User]:
    """Whom this user may hand a conversation to: supervisors, to any active console user."""
    if not is_supervisor(user):
        return User.objects.none()
    return User.objects.filter(console_q(), is_active=True).order_by("username")


def console_agents() -> QuerySet[User]:
    """Agents and supervisors, past and present, to filter the console's history by."""
    return User.objects.filter(console_q()).order_by("username")


def reloaded(user: Any) -> User | None:
    """The user as the database has them now (a socket's user is fixed at the handshake), or
    None if they are gone or disabled."""
    if user is None or not user.is_authenticated:
        return None
    return User.objects.filter(pk=user.pk, is_active=True).first()


def socket_staff_user(user: Any, session: Any) -> User:
    """The console user behind a staff socket, as the database has them now, provided their
    session passed a second factor (django-otp's middleware never runs for sockets). Raises
    NotFound otherwise."""
    fresh = reloaded(user)
    if not is_console_user(fresh) or not factors.session_is_verified(fresh, session):
        raise NotFound
    # The session must still exist: ended sessions (sign-out elsewhere, idle timeout) end access.
    if not Session.objects.filter(session_key=session.session_key, expire_date__gt=timezone.now()).exists():
        raise NotFound
    # ...and belong to the current password (as Django checks on every HTTP request).
    if not constant_time_compare(session.get(HASH_SESSION_KEY, ""), fresh.get_session_auth_hash()):
        raise NotFound
    return fresh
