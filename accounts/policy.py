"""Every authorization decision lives here.

Views, consumers and the admin ask these functions; nothing else decides access. Lookups by id
return the object or raise `NotFound` – the same for "missing" and "forbidden", so ids can't be
probed. Staff-only areas are decided by `is_console_user` (the MFA issue extends it).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.contrib.auth import HASH_SESSION_KEY
from django.db.models import Q, QuerySet
from django.utils.crypto import constant_time_compare

if TYPE_CHECKING:
    from accounts.models import User
    from conversations.models import Conversation


class NotFound(Exception):
    """The object does not exist or the principal may not see it (deliberately the same)."""


def is_console_user(user: Any) -> bool:
    """May this principal use the agent console at all (agents and supervisors)?"""
    from accounts.models import User

    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.role in (User.Role.AGENT, User.Role.SUPERVISOR))
    )


def is_supervisor(user: Any) -> bool:
    from accounts.models import User

    return is_console_user(user) and (user.is_superuser or user.role == User.Role.SUPERVISOR)


def access_conversation_hold(user: Any, conversation_id: Any) -> Any:
    """Putting a conversation on legal hold (or releasing it) is a supervisor's decision."""
    if not is_supervisor(user):
        raise NotFound
    return access_staff_conversation(user, conversation_id, write=False)


def _as_uuid(value: Any) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError) as exc:
        raise NotFound from exc


def conversations_visible_to_staff(user: User) -> QuerySet[Conversation]:
    """Conversations a console user may read: supervisors all; agents the waiting queue and
    the conversations assigned to them."""
    from conversations.models import Conversation

    qs = Conversation.objects.all()
    if is_supervisor(user):
        return qs
    if is_console_user(user):
        return qs.filter(Q(state=Conversation.State.WAITING) | Q(assigned_agent=user))
    return qs.none()


def access_conversation(user: Any, conversation_id: Any, *, write: bool = False) -> Conversation:
    """Return the conversation if this principal may read it (write=True: act on it as staff),
    else raise NotFound.

    - agent: read the waiting queue and their assigned conversations; write only assigned ones
      (a waiting one is taken with `access_conversation_claim`);
    - supervisor: read and write every conversation;
    - customer: read their own conversations; never write as staff;
    - anyone else: nothing (visitors reach their conversation through the widget only).
    """
    from conversations.models import Conversation

    pk = _as_uuid(conversation_id)
    if is_console_user(user):
        qs = conversations_visible_to_staff(user)
        if write and not is_supervisor(user):
            qs = qs.filter(assigned_agent=user)
    elif not write and user is not None and getattr(user, "is_customer", False):
        qs = Conversation.objects.filter(customer=user)
    else:
        raise NotFound
    try:
        return qs.get(pk=pk)
    except Conversation.DoesNotExist as exc:
        raise NotFound from exc


def assignable_agents(user: Any) -> QuerySet[User]:
    """Whom this user may hand a conversation to: supervisors, to any active console user."""
    from accounts.models import User

    if not is_supervisor(user):
        return User.objects.none()
    return User.objects.filter(is_active=True, role__in=[User.Role.AGENT, User.Role.SUPERVISOR]).order_by("username")


def reloaded(user: Any) -> User | None:
    """The user as the database has them now (a socket's user is fixed at the handshake), or
    None if they are gone or disabled."""
    from accounts.models import User

    if user is None or not user.is_authenticated:
        return None
    return User.objects.filter(pk=user.pk, is_active=True).first()


def socket_staff_user(user: Any, session: Any) -> User:
    """The console user behind a staff socket, as the database has them now, provided their
    session passed a second factor (django-otp's middleware never runs for sockets). Raises
    NotFound otherwise."""
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from accounts import mfa

    fresh = reloaded(user)
    if not is_console_user(fresh) or not mfa.session_is_verified(fresh, session):
        raise NotFound
    # The session must still exist: ended sessions (sign-out elsewhere, idle timeout) end access.
    if not Session.objects.filter(session_key=session.session_key, expire_date__gt=timezone.now()).exists():
        raise NotFound
    # ...and belong to the current password (as Django checks on every HTTP request).
    if not constant_time_compare(session.get(HASH_SESSION_KEY, ""), fresh.get_session_auth_hash()):
        raise NotFound
    return fresh


def access_staff_conversation(user: Any, conversation_id: Any, *, write: bool = False) -> Conversation:
    """`access_conversation` for the console and the agent sockets: console users only, so a
    customer can never reach staff-only data (internal notes) through them."""
    if not is_console_user(user):
        raise NotFound
    return access_conversation(user, conversation_id, write=write)


def access_conversation_claim(user: Any, conversation_id: Any) -> Conversation:
    """A console user may claim a conversation that is waiting (a supervisor: any open one)."""
    from conversations.models import Conversation

    conversation = access_conversation(user, conversation_id)
    if conversation.state == Conversation.State.WAITING:
        return conversation
    if is_supervisor(user) and conversation.state != Conversation.State.RESOLVED:
        return conversation
    raise NotFound


def access_widget_conversation(user: Any, session: Any) -> Conversation | None:
    """The conversation the chat widget shows: the one held in this browser session, provided it
    still exists and belongs to this principal: a signed-in customer's own, or for anyone else one
    with no account. A customer who signs in mid-chat starts a new conversation in their account
    rather than absorbing an anonymous one (on a shared computer it may be someone else's).
    None when there is none yet."""
    from conversations.models import Conversation

    if session is None or not session.get("conversation_id"):
        return None
    try:
        conversation = Conversation.objects.get(pk=_as_uuid(session["conversation_id"]))
    except (Conversation.DoesNotExist, NotFound):
        return None
    owner = user.pk if getattr(user, "is_customer", False) else None
    return conversation if conversation.customer_id == owner else None


def is_privacy_officer(user: Any) -> bool:
    """May this principal handle data-subject requests (the officer's queue)?"""
    from accounts.models import User

    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.role == User.Role.PRIVACY_OFFICER)
    )


def access_data_request(user: Any, request_id: Any) -> Any:
    """A data-subject request, for a privacy officer; NotFound for anyone else or a bad id."""
    from privacy.models import DataRequest

    if not is_privacy_officer(user):
        raise NotFound
    try:
        return DataRequest.objects.select_related("details").get(pk=_as_uuid(request_id))
    except DataRequest.DoesNotExist as exc:
        raise NotFound from exc


def access_data_request_status(user: Any, request_id: Any) -> Any:
    """A request's status page by its plain address: for the signed-in customer it is about.
    (Visitors use the signed status link from the confirmation page and our e-mails.) NotFound
    otherwise."""
    from privacy.models import DataRequest

    request = DataRequest.objects.filter(pk=_as_uuid(request_id)).first()
    if request is None or not may_download_export_from_status(user, request):
        raise NotFound
    return request


def export_includes_staff_notes() -> bool:
    """Does a customer's export include the text of staff notes on their conversations? Notes are
    staff-only everywhere else and may concern other people: by default the export says how many
    there are and how to ask for them (PRIVACY_EXPORT_STAFF_NOTES=1 includes them)."""
    from django.conf import settings

    return settings.PRIVACY_EXPORT_STAFF_NOTES


def may_use_portal(user: Any) -> bool:
    """The portal's request form is for visitors and customers; staff accounts are an
    administrator's business."""
    return not getattr(user, "is_authenticated", False) or bool(getattr(user, "is_customer", False))


def may_download_export_from_status(user: Any, data_request: Any) -> bool:
    """A signed-in customer sees their own export's download link on its status page."""
    return bool(
        getattr(user, "is_customer", False)
        and data_request.subject_id is not None
        and data_request.subject_id == user.pk
    )


def access_widget_conversation_delete(user: Any, session: Any) -> Conversation | None:
    """The chat "Delete this chat" removes at once: the visitor chat this browser holds (one that
    belongs to no account; a customer's account conversations go through a deletion request).
    Legal holds are checked again under the row lock by the service. None when there is none."""
    conversation = access_widget_conversation(None, session)
    return conversation if conversation is not None and conversation.customer_id is None else None
