"""Access to conversations: who may read, write, claim or hold one. Every lookup by id goes
through here and returns the conversation or raises `NotFound` (missing and forbidden alike)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from accounts import factors
from accounts.access import NotFound, as_uuid
from accounts.models import User
from accounts.roles import is_console_user, is_customer, is_supervisor
from conversations.models import CannedReply, Conversation


def conversations_visible_to_staff(user: User) -> QuerySet[Conversation]:
    """Conversations a console user may read: supervisors all; agents the waiting queue and
    the conversations assigned to them."""
    qs = Conversation.objects.all()
    if is_supervisor(user):
        return qs
    if is_console_user(user):
        return qs.filter(Q(state=Conversation.State.WAITING) | Q(assigned_agent=user))
    return qs.none()


def conversation_access(user: Any, conversation_id: Any, *, write: bool = False) -> Conversation:
    """Return the conversation if this principal may read it (write=True: act on it as staff),
    else raise NotFound.

    - agent: read the waiting queue and their assigned conversations; write only assigned ones
      (a waiting one is taken with `conversation_claim_access`);
    - supervisor: read and write every conversation;
    - customer: read their own conversations; never write as staff;
    - anyone else: nothing (visitors reach their conversation through the widget only).
    """
    pk = as_uuid(conversation_id)
    if is_console_user(user):
        qs = conversations_visible_to_staff(user)
        if write and not is_supervisor(user):
            qs = qs.filter(assigned_agent=user)
    elif not write and is_customer(user):
        qs = Conversation.objects.filter(customer=user)
    else:
        raise NotFound
    try:
        return qs.get(pk=pk)
    except Conversation.DoesNotExist as exc:
        raise NotFound from exc


def staff_conversation_access(user: Any, conversation_id: Any, *, write: bool = False) -> Conversation:
    """`conversation_access` for the console and the agent sockets: console users only, so a
    customer can never reach staff-only data (internal notes) through them."""
    if not is_console_user(user):
        raise NotFound
    return conversation_access(user, conversation_id, write=write)


def conversation_claim_access(user: Any, conversation_id: Any) -> Conversation:
    """A console user may claim a conversation that is waiting (a supervisor: any open one)."""
    conversation = conversation_access(user, conversation_id)
    if conversation.state == Conversation.State.WAITING:
        return conversation
    if is_supervisor(user) and conversation.state != Conversation.State.RESOLVED:
        return conversation
    raise NotFound


def may_reply(user: Any, conversation: Conversation) -> bool:
    """May this console user write to the customer now: the conversation is with an agent, and
    it is theirs (a supervisor: any)."""
    return (
        is_console_user(user)
        and conversation.state == Conversation.State.AGENT
        and (conversation.assigned_agent_id == user.pk or is_supervisor(user))
    )


def may_hold(user: Any) -> bool:
    """Legal holds are a supervisor's decision (see `conversation_hold_access`)."""
    return is_supervisor(user)


def may_take_over(user: Any) -> bool:
    """May this console user take a conversation that another agent has (supervisors)?"""
    return is_supervisor(user)


def may_see_dashboard(user: Any) -> bool:
    """The supervisor dashboard (team and per-agent figures) is for supervisors."""
    return is_supervisor(user)


def conversation_hold_access(user: Any, conversation_id: Any) -> Any:
    """Putting a conversation on legal hold (or releasing it) is a supervisor's decision."""
    if not may_hold(user):
        raise NotFound
    return staff_conversation_access(user, conversation_id, write=False)


def may_open_widget_socket(user: Any, session: Any) -> bool:
    """The widget's socket needs the browser session the widget page gave (GET /chat/), and, for
    an account with two-step sign-in (all staff), one that has passed the second factor
    (django-otp's middleware never runs for sockets)."""
    if session is None or not session.session_key:
        return False
    return factors.session_is_verified(user, session)


def widget_conversation_access(user: Any, session: Any) -> Conversation | None:
    """The conversation the chat widget shows: the one held in this browser session, provided it
    still exists and belongs to this principal: a signed-in customer's own, or for anyone else one
    with no account. A customer who signs in mid-chat starts a new conversation in their account
    rather than absorbing an anonymous one (on a shared computer it may be someone else's).
    None when there is none yet."""
    if session is None or not session.get("conversation_id"):
        return None
    try:
        conversation = Conversation.objects.get(pk=as_uuid(session["conversation_id"]))
    except (Conversation.DoesNotExist, NotFound):
        return None
    owner = widget_conversation_owner(user)
    return conversation if conversation.customer_id == (owner.pk if owner else None) else None


def widget_conversation_owner(user: Any) -> Any:
    """Whose account a new widget conversation belongs to: a signed-in customer's, else nobody's."""
    return user if is_customer(user) else None


def widget_conversation_delete_access(user: Any, session: Any) -> Conversation | None:
    """The chat "Delete this chat" removes at once: the visitor chat this browser holds (one that
    belongs to no account; a customer's account conversations go through a deletion request).
    Legal holds are checked again under the row lock by the service. None when there is none."""
    conversation = widget_conversation_access(None, session)
    return conversation if conversation is not None and conversation.customer_id is None else None


# --- canned replies ---------------------------------------------------------------------------


def may_manage_shared_replies(user: Any) -> bool:
    """Shared canned replies are the supervisors' to add, edit and delete."""
    return is_supervisor(user)


def canned_replies_for(user: Any) -> QuerySet[CannedReply]:
    """The canned replies a console user may use: the shared ones and their own. Nobody sees
    another person's personal replies, supervisors included."""
    if not is_console_user(user):
        return CannedReply.objects.none()
    return CannedReply.objects.filter(Q(owner__isnull=True) | Q(owner=user))


def canned_reply_access(user: Any, reply_id: Any, *, write: bool = False) -> CannedReply:
    """The canned reply if this console user may use it (write=True: edit or delete it: their
    own, or a shared one for a supervisor), else NotFound."""
    pk = as_uuid(reply_id)
    qs = canned_replies_for(user)
    if write and not may_manage_shared_replies(user):
        qs = qs.filter(owner=user)
    try:
        return qs.get(pk=pk)
    except CannedReply.DoesNotExist as exc:
        raise NotFound from exc
