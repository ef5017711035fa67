"""The console's canned replies: the page where supervisors manage the shared ones and every console
user their own, and the composer's filling of one for a conversation (JSON)."""

from __future__ import annotations

from django.contrib import messages as flash
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import roles
from accounts.access import NotFound, role_required
from conversations import canned
from conversations.access import (
    canned_replies_for,
    canned_reply_access,
    may_manage_shared_replies,
    staff_conversation_access,
)
from conversations.forms import CannedReplyForm
from conversations.models import CannedReply
from conversations.redaction import LABELS

console_only = role_required(roles.is_console_user)


def _reply_or_404(request: HttpRequest, reply_id: str, *, write: bool = False) -> CannedReply:
    try:
        return canned_reply_access(request.user, reply_id, write=write)
    except NotFound as exc:
        raise Http404("No such canned reply.") from exc


def _warn_unknown(request: HttpRequest, reply: CannedReply) -> None:
    unknown = canned.placeholders_unknown(reply.body)
    if unknown:
        names = ", ".join("{" + name + "}" for name in unknown)
        flash.warning(request, f"Not a placeholder we fill: {names}. It will be inserted as written.")


@console_only
def canned_list(request: HttpRequest) -> HttpResponse:
    replies = list(canned_replies_for(request.user))
    may_share = may_manage_shared_replies(request.user)
    return render(
        request,
        "console/canned_list.html",
        {
            "shared": [r for r in replies if r.is_shared],
            "personal": [r for r in replies if not r.is_shared],
            "may_manage_shared": may_share,
        },
    )


def _form_page(request: HttpRequest, form: CannedReplyForm, reply: CannedReply | None) -> HttpResponse:
    return render(request, "console/canned_form.html", {"form": form, "reply": reply})


@console_only
def canned_new(request: HttpRequest) -> HttpResponse:
    may_share = may_manage_shared_replies(request.user)
    form = CannedReplyForm(request.POST or None, may_share=may_share)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            reply = canned.canned_reply_create(
                owner=None if may_share and data.get("shared") else request.user,
                shortcut=data["shortcut"],
                title=data["title"],
                body=data["body"],
            )
        except canned.CannedReplyError as exc:
            form.add_error(exc.field, exc.detail)
        else:
            flash.success(request, f"Saved /{reply.shortcut}.")
            _warn_unknown(request, reply)
            return redirect("conversations:canned_list")
    return _form_page(request, form, None)


@console_only
def canned_edit(request: HttpRequest, reply_id: str) -> HttpResponse:
    reply = _reply_or_404(request, reply_id, write=True)
    initial = {"shortcut": reply.shortcut, "title": reply.title, "body": reply.body}
    form = CannedReplyForm(request.POST or None, initial=initial, may_share=False)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            canned.canned_reply_update(reply=reply, shortcut=data["shortcut"], title=data["title"], body=data["body"])
        except canned.CannedReplyError as exc:
            form.add_error(exc.field, exc.detail)
        else:
            flash.success(request, f"Saved /{reply.shortcut}.")
            _warn_unknown(request, reply)
            return redirect("conversations:canned_list")
    return _form_page(request, form, reply)


@console_only
@require_POST
def canned_delete(request: HttpRequest, reply_id: str) -> HttpResponse:
    reply = _reply_or_404(request, reply_id, write=True)
    shortcut = reply.shortcut
    canned.canned_reply_delete(reply=reply)
    flash.success(request, f"Deleted /{shortcut}.")
    return redirect("conversations:canned_list")


@console_only
def canned_fill(request: HttpRequest, conversation_id: str, reply_id: str) -> HttpResponse:
    """The reply's text filled in for this conversation, for the composer: the console user must
    be able to write to the conversation and use the reply (missing and forbidden alike: 404)."""
    try:
        conversation = staff_conversation_access(request.user, conversation_id, write=True)
    except NotFound as exc:
        raise Http404("No such conversation.") from exc
    reply = _reply_or_404(request, reply_id)
    filled = canned.canned_reply_fill(viewer=request.user, conversation=conversation, reply=reply)
    # Never cached (chatbot_site.headers: every page is no-store): this one may hold a customer's name.
    return JsonResponse(
        {
            "text": filled.text,
            "unknown": filled.unknown,
            "will_mask": [LABELS[kind].split(" ", 1)[1] for kind in filled.will_mask],
        }
    )
