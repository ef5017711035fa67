"""Exports: the subject's archive (data.json and transcript.html in a zip), stored encrypted under
the request's data key, and downloaded once."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import UserSession
from audit.actions import Action
from audit.services import record
from conversations.models import InternalNote, Message
from privacy.access import export_includes_staff_notes
from privacy.data_requests.links import LinkRefused, export_link_check, link_refusal_record
from privacy.data_requests.notify import export_link_send
from privacy.data_requests.selectors import subject_conversations
from privacy.data_requests.storage import export_path
from privacy.models import DataRequest
from vault.datakeys import data_key_cipher

Status = DataRequest.Status
Kind = DataRequest.Kind


def export_build(*, request_id: Any) -> DataRequest | None:
    """Build the subject's archive, store it encrypted under the request's data key, and send the
    download link (Celery runs it). Under the request's row lock: a duplicate delivery of the task
    waits, then finds it built; the e-mail goes once (notify.confirmation_send)."""
    with transaction.atomic():
        request = (
            DataRequest.objects.select_for_update(of=("self",))
            .select_related("details", "subject")
            .filter(pk=request_id)
            .first()
        )
        if request is None or request.kind != Kind.EXPORT or not hasattr(request, "details"):
            return request
        if request.status == Status.RECEIVED:
            archive, counts = export_archive(request)
            path = export_path(request)
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".part")
            partial.write_bytes(data_key_cipher(request.details.encryption_key_id()).encrypt(archive))
            partial.replace(path)
            now = timezone.now()
            request.status, request.export_ready_at, request.completed_at, request.counts = (
                Status.DONE,
                now,
                now,
                counts,
            )
            request.save(update_fields=["status", "export_ready_at", "completed_at", "counts"])
            record(Action.REQUEST_EXECUTED, obj=request, details={"kind": request.kind, **counts})
        elif request.status != Status.DONE or request.export_downloaded_at is not None:
            return request
    # Built now, or before by a run whose e-mail failed: send it (once).
    export_link_send(request=request)
    return request


NOTES_WITHHELD = (
    "Our staff wrote notes on this conversation. They may concern other people, so they are not "
    "included here; ask our privacy officer for them."
)


def export_archive(request: DataRequest) -> tuple[bytes, dict[str, int]]:
    """The zip: data.json (everything held about the subject) and transcript.html (the same,
    readable), both made from one read of each table."""
    from axes.models import AccessAttempt
    from django_otp import devices_for_user

    user = request.subject
    now = timezone.now()
    sessions = list(UserSession.objects.filter(user=user).order_by("created_at")) if user else []
    failed_sign_ins = (
        list(AccessAttempt.objects.filter(username=user.username).order_by("attempt_time")) if user else []
    )
    requests_made = list(
        DataRequest.objects.filter(Q(pk=request.pk) | (Q(subject=user) if user is not None else Q(pk__in=[]))).order_by(
            "requested_at"
        )
    )
    conversations = list(subject_conversations(request).order_by("created_at"))
    ids = [c.pk for c in conversations]
    messages: dict[Any, list[Message]] = {pk: [] for pk in ids}
    for message in Message.objects.filter(conversation_id__in=ids).order_by("conversation_id", "seq"):
        messages[message.conversation_id].append(message)
    notes: dict[Any, list[InternalNote]] = {pk: [] for pk in ids}
    for note in InternalNote.objects.filter(conversation_id__in=ids):
        notes[note.conversation_id].append(note)
    with_notes = export_includes_staff_notes()
    data: dict[str, Any] = {
        "generated_at": now.isoformat(),
        "controller": settings.BUSINESS_NAME,
        "request": {
            "id": str(request.pk),
            "requested_at": request.requested_at.isoformat(),
            "email_given": request.details.email or None,
        },
        "account": None,
        "conversations": [
            {
                "id": str(c.pk),
                "started_at": c.created_at.isoformat(),
                "last_message_at": c.last_message_at.isoformat() if c.last_message_at else None,
                "state": c.get_state_display(),
                "privacy_notice_version_shown": c.notice_version,
                "privacy_notice_shown_at": c.notice_shown_at.isoformat() if c.notice_shown_at else None,
                "messages": [
                    {
                        "seq": m.seq,
                        "sender": m.sender,
                        "sent_at": m.created_at.isoformat(),
                        "text": m.body,
                        # What was masked out before storing (the values were never kept).
                        "removed_before_storing": list(m.masked),
                    }
                    for m in messages[c.pk]
                ],
                "on_legal_hold": c.legal_hold,
                "staff_notes": (
                    [{"written_at": n.created_at.isoformat(), "text": n.body} for n in notes[c.pk]]
                    if with_notes
                    else {"count": len(notes[c.pk]), "content": NOTES_WITHHELD}
                ),
            }
            for c in conversations
        ],
        "data_requests": [
            {
                "kind": r.kind,
                "status": r.status,
                "requested_at": r.requested_at.isoformat(),
                "received_at": r.verified_at.isoformat() if r.verified_at else None,
                "completed_at": r.completed_at.isoformat() if r.completed_at else None,
            }
            for r in requests_made
        ],
    }
    if user is not None:
        data["account"] = {
            "username": user.username,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "email_waiting_for_confirmation": user.pending_email or None,
            "joined_at": user.date_joined.isoformat(),
            "last_sign_in_at": user.last_login.isoformat() if user.last_login else None,
            "sessions": [
                {"started_at": s.created_at.isoformat(), "last_seen_at": s.last_seen.isoformat()} for s in sessions
            ],
            "two_step_devices": [
                {"kind": type(d).__name__, "name": d.name, "confirmed": d.confirmed}
                for d in devices_for_user(user, confirmed=None)
            ],
            "failed_sign_ins": [
                {"at": a.attempt_time.isoformat(), "ip_address": a.ip_address, "browser": a.user_agent}
                for a in failed_sign_ins
            ],
        }
    counts = {
        "conversations": len(conversations),
        "messages": sum(len(v) for v in messages.values()),
        "staff_notes": sum(len(v) for v in notes.values()),
        "account": int(user is not None),
    }
    html = render_to_string(
        "privacy/export_transcript.html",
        {
            "data": data,
            "user": user,
            "sessions": sessions,
            "failed_sign_ins": failed_sign_ins,
            "conversations": [(c, messages[c.pk], notes[c.pk]) for c in conversations],
            "with_notes": with_notes,
            "notes_withheld": NOTES_WITHHELD,
            "requests_made": requests_made,
            "generated_at": now,
        },
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, indent=2, ensure_ascii=False))
        archive.writestr("transcript.html", html)
    return buffer.getvalue(), counts


def export_download(*, request_id: Any, token: str, by: Any = None) -> bytes:
    """The archive, once: the link is spent and the file deleted before the bytes are returned.
    `by`: who downloads it, if signed in (the audit trail's actor). Raises LinkRefused; a link
    used again or too late is recorded as refused."""
    try:
        with transaction.atomic():
            request = export_link_check(request_id, token)
            spent = DataRequest.objects.filter(pk=request.pk, export_downloaded_at__isnull=True).update(
                export_downloaded_at=timezone.now()
            )
            if not spent:
                raise LinkRefused("downloaded")
            path = export_path(request)
            archive = data_key_cipher(request.details.encryption_key_id()).decrypt(path.read_bytes())
            record(Action.EXPORT_DOWNLOADED, actor=by, obj=request, details={"bytes": len(archive)})
    except LinkRefused as exc:
        link_refusal_record(Action.EXPORT_DOWNLOADED, request_id=request_id, refused=exc, by=by)
        raise
    path.unlink(missing_ok=True)
    return archive
