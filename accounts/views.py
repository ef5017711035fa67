from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts import policy
from conversations import selectors


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if policy.is_console_user(request.user):
        return redirect("conversations:console")
    if request.user.is_customer:
        return redirect("accounts:my_conversations")
    # Roles without tools of their own yet (the privacy officer's queue comes with the portal).
    return render(request, "accounts/home.html")


@login_required
def my_conversations(request: HttpRequest) -> HttpResponse:
    if not request.user.is_customer:
        raise Http404
    conversations = selectors.conversations_of_customer(customer=request.user)
    return render(request, "accounts/my_conversations.html", {"conversations": conversations})


@login_required
def my_conversation(request: HttpRequest, conversation_id: str) -> HttpResponse:
    if not request.user.is_customer:
        raise Http404
    try:
        conversation = policy.access_conversation(request.user, conversation_id)
    except policy.NotFound as exc:
        raise Http404 from exc
    transcript = selectors.messages_of(conversation=conversation)
    return render(
        request,
        "accounts/my_conversation.html",
        {"conversation": conversation, "transcript": transcript, "customer_view": True},
    )
