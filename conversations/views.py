"""The public pages (home, widget, demo site), a customer's own conversations, and the agent
console (each console view admits console users only: accounts.access.role_required)."""

from __future__ import annotations

import datetime as dt
import uuid

from csp.decorators import csp_replace
from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_POST

from accounts import roles
from accounts.access import NotFound, assignable_agents, console_agents, role_required
from accounts.network import client_key
from conversations import dashboard, limits, readers, selectors, services
from conversations.access import (
    canned_replies_for,
    conversation_access,
    conversation_claim_access,
    conversation_hold_access,
    may_hold,
    may_reply,
    may_see_dashboard,
    may_take_over,
    staff_conversation_access,
)
from conversations.models import Conversation
from conversations.redaction import LABELS

console_only = role_required(roles.is_console_user)


def _access_or_404(request: HttpRequest, conversation_id: str, *, write: bool = False) -> Conversation:
    try:
        return staff_conversation_access(request.user, conversation_id, write=write)
    except NotFound as exc:
        raise Http404("No such conversation.") from exc


@login_not_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("conversations:demo_site" if settings.DEMO_SITE else "conversations:widget")


@login_not_required
@csp_replace({"frame-ancestors": ["'self'", *settings.WIDGET_EMBED_ORIGINS]})
@xframe_options_exempt  # framed by WIDGET_EMBED_ORIGINS: the CSP above decides
def widget(request: HttpRequest) -> HttpResponse:
    """The chat widget. Visiting it gives the browser a session, which the socket authenticates
    with; the conversation itself is opened by the visitor's first message. New sessions are limited per client
    address (CHAT_NEW_SESSIONS_PER_ADDRESS): a browser that keeps its cookie never counts again."""
    if not request.session.session_key:
        wait = limits.rate_hit(
            group="chat-new-session", key=client_key(request), rate=settings.CHAT_NEW_SESSIONS_PER_ADDRESS
        )
        if wait is not None:
            response = render(request, "chat/busy.html", status=429)
            response["Retry-After"] = str(wait)
            return response
        request.session["widget"] = True
        request.session.save()
    # What the widget warns about before sending (static/js/redaction.js finds its share of these).
    redaction = {
        "kinds": settings.REDACTION_KINDS,
        "keep_domains": settings.REDACTION_KEEP_DOMAINS,
        "labels": {kind: LABELS[kind] for kind in settings.REDACTION_KINDS},
    }
    return render(
        request,
        "chat/widget.html",
        {
            "max_body": settings.CHAT_MAX_BODY_CHARS,
            "redaction": redaction,
            "secure_channel_text": settings.SECURE_CHANNEL_TEXT,
        },
    )


@login_not_required
def demo_site(request: HttpRequest) -> HttpResponse:
    """A stand-in for the business's website with the chat embedded (DEMO_SITE, on in DEBUG)."""
    if not settings.DEMO_SITE:
        raise Http404
    return render(request, "chat/demo_site.html")


# The id of the queue page's row templates, which its script replaces with a real one.
ROW_PLACEHOLDER = uuid.UUID(int=0)


@console_only
def console(request: HttpRequest) -> HttpResponse:
    queue = selectors.queue_for(user=request.user)
    # One template row per state: queue.js fills in copies for live updates, so a row looks the
    # same whether it came with the page or from the socket. Times are placeholders as well.
    now = timezone.now()
    prototypes = [
        Conversation(pk=ROW_PLACEHOLDER, state=state, waiting_since=now, last_message_at=now)
        for state in Conversation.State.values
    ]
    return render(
        request,
        "console/queue.html",
        {"queue": queue, "row_prototypes": prototypes, "row_placeholder": ROW_PLACEHOLDER},
    )


@console_only
def console_conversation(request: HttpRequest, conversation_id: str) -> HttpResponse:
    try:
        conversation = selectors.transcript_open(viewer=request.user, conversation_id=conversation_id)
    except NotFound:
        # The console's own page, not the bare 404: "it was deleted" only to whom had it open.
        deleted = selectors.conversation_deleted_for(viewer=request.user, conversation_id=conversation_id)
        return render(request, "console/conversation_gone.html", {"deleted": deleted}, status=404)
    transcript = list(selectors.messages_of(conversation=conversation))
    return render(
        request,
        "console/conversation.html",
        {
            "conversation": conversation,
            "transcript": transcript,
            "notes": selectors.notes_read(viewer=request.user, conversation_id=conversation.pk),
            "last_seq": transcript[-1].seq if transcript else 0,
            "can_reply": may_reply(request.user, conversation),
            "max_body": settings.CHAT_MAX_BODY_CHARS,
            "can_hold": may_hold(request.user),
            "hold_reason_max": services.LEGAL_HOLD_REASON_MAX,
            "assignable": assignable_agents(request.user) if conversation.state != Conversation.State.RESOLVED else [],
            # The composer's canned replies (their text is filled in by canned_fill when chosen).
            "canned_replies": [
                {"id": str(r.pk), "shortcut": r.shortcut, "title": r.title, "shared": r.is_shared}
                for r in canned_replies_for(request.user).only("id", "shortcut", "title", "owner")
            ],
            "canned_placeholder": ROW_PLACEHOLDER,
        },
    )


@console_only
@require_POST
def console_claim(request: HttpRequest, conversation_id: str) -> HttpResponse:
    try:
        conversation = conversation_claim_access(request.user, conversation_id)
    except NotFound:
        flash.error(request, "That conversation is no longer waiting.")
        return redirect("conversations:console")
    try:
        services.conversation_claim(
            conversation_id=conversation.pk,
            agent=request.user,
            take_over=may_take_over(request.user),
        )
    except services.ConversationError as exc:
        flash.error(request, exc.detail)
        return redirect("conversations:console")
    return redirect("conversations:console_conversation", conversation_id=conversation.pk)


@console_only
@require_POST
def console_assign(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """A supervisor hands an open conversation to an agent."""
    conversation = _access_or_404(request, conversation_id, write=True)
    try:
        agent_id = int(request.POST.get("agent", ""))
    except ValueError:
        agent_id = None
    target = assignable_agents(request.user).filter(pk=agent_id).first() if agent_id else None
    if target is None:
        raise Http404("No such agent.")
    try:
        services.conversation_assign(
            conversation_id=conversation.pk,
            agent=target,
            allow_reassign=may_take_over(request.user),
            by=request.user,
        )
    except services.ConversationError as exc:
        flash.error(request, exc.detail)
    else:
        flash.success(request, f"Assigned to {target.get_username()}.")
    return redirect("conversations:console_conversation", conversation_id=conversation.pk)


@console_only
@require_POST
def console_resolve(request: HttpRequest, conversation_id: str) -> HttpResponse:
    conversation = _access_or_404(request, conversation_id, write=True)
    services.conversation_resolve(conversation_id=conversation.pk, by=request.user)
    flash.success(request, "Conversation resolved.")
    return redirect("conversations:console")


@console_only
@require_POST
def console_hold(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """A supervisor puts a conversation on legal hold (with a reason) or releases it."""
    try:
        conversation = conversation_hold_access(request.user, conversation_id)
    except NotFound as exc:
        raise Http404("No such conversation.") from exc
    try:
        if request.POST.get("action") == "release":
            services.conversation_release(conversation_id=conversation.pk, by=request.user)
            flash.success(request, "Legal hold released: the retention period applies again.")
        else:
            services.conversation_hold(
                conversation_id=conversation.pk, by=request.user, reason=request.POST.get("reason", "")
            )
            flash.success(request, "On legal hold: the retention purge will keep this conversation.")
    except services.ConversationError as exc:
        flash.error(request, exc.detail)
    return redirect("conversations:console_conversation", conversation_id=conversation.pk)


def _parse_date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@console_only
def console_history(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    if state not in Conversation.State.values:
        state = ""
    try:
        agent_id = int(request.GET.get("agent", "") or 0) or None
    except ValueError:
        agent_id = None
    since, until = _parse_date(request.GET.get("since")), _parse_date(request.GET.get("until"))
    page = selectors.history_search(
        viewer=request.user,
        state=state,
        agent_id=agent_id,
        since=since,
        until=until,
        cursor=request.GET.get("page", ""),
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "console/history.html",
        {
            "page": page,
            "states": Conversation.State.choices,
            "agents": console_agents().only("pk", "username"),
            "filters": {"state": state, "agent": agent_id, "since": since, "until": until},
            "query": query.urlencode(),
        },
    )


@role_required(may_see_dashboard)
def console_dashboard(request: HttpRequest) -> HttpResponse:
    """Team and per-agent figures for today or the last 7 days (conversations.dashboard)."""
    period = request.GET.get("period", "today")
    if period not in dashboard.PERIODS:
        period = "today"
    return render(
        request,
        "console/dashboard.html",
        {"board": dashboard.dashboard_figures(period=period), "periods": dashboard.PERIODS},
    )


@role_required(roles.is_customer, hidden=True)
def my_conversations(request: HttpRequest) -> HttpResponse:
    conversations = list(selectors.conversations_of_customer(customer=request.user))
    accesses = readers.accesses_of(conversation_ids=[c.pk for c in conversations])
    return render(
        request,
        "accounts/my_conversations.html",
        {"conversations": conversations, "rows": [(c, accesses[str(c.pk)]) for c in conversations]},
    )


@role_required(roles.is_customer, hidden=True)
def my_conversation(request: HttpRequest, conversation_id: str) -> HttpResponse:
    try:
        conversation = conversation_access(request.user, conversation_id)
    except NotFound as exc:
        raise Http404 from exc
    transcript = selectors.messages_of(conversation=conversation)
    return render(
        request,
        "accounts/my_conversation.html",
        {
            "conversation": conversation,
            "transcript": transcript,
            "customer_view": True,
            "accesses": readers.accesses_of(conversation_ids=[conversation.pk])[str(conversation.pk)],
        },
    )
