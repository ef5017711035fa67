"""The hourly housekeeping of data requests: re-drive stuck steps, expire unconfirmed requests and
undownloaded exports, forget who asked once nobody needs it."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from chatbot_site.jobs import enqueue
from privacy.data_requests.storage import export_path
from privacy.models import DataRequest, RequestDetails

logger = logging.getLogger(__name__)

Status = DataRequest.Status
Kind = DataRequest.Kind


STUCK_AFTER = dt.timedelta(minutes=15)


def data_requests_redrive(*, now: dt.datetime | None = None) -> int:
    """Queue again the step of every request still waiting on a worker STUCK_AFTER after it was due
    (a task lost with its worker, or out of retries while the relay or database was down)."""
    cutoff = (now or timezone.now()) - STUCK_AFTER
    deletions = DataRequest.objects.filter(kind=Kind.DELETION).filter(
        Q(status=Status.APPROVED, decided_at__lt=cutoff)
        | Q(status=Status.DONE, completed_at__lt=cutoff, details__isnull=False)  # confirmation pending
    )
    exports = DataRequest.objects.filter(kind=Kind.EXPORT).filter(
        Q(status=Status.RECEIVED, verified_at__lt=cutoff)
        | Q(status=Status.DONE, export_ready_at__lt=cutoff, confirmation_sent_at__isnull=True, details__isnull=False)
    )
    denials = DataRequest.objects.filter(
        status=Status.DENIED, decided_at__lt=cutoff, confirmation_sent_at__isnull=True, details__isnull=False
    )
    ids = [("privacy.tasks.deletion_execute", pk) for pk in deletions.values_list("pk", flat=True)]
    ids += [("privacy.tasks.export_build", pk) for pk in exports.values_list("pk", flat=True)]
    ids += [("privacy.tasks.denial_send", pk) for pk in denials.values_list("pk", flat=True)]
    for task_name, pk in ids:
        logger.warning("data request %s is still waiting for %s: queued again", pk, task_name)
        enqueue(task_name, str(pk))
    return len(ids)


def data_requests_expire_unverified(*, now: dt.datetime | None = None) -> int:
    """Unconfirmed requests whose link has run out: forget who asked (their details are shredded)."""
    cutoff = (now or timezone.now()) - dt.timedelta(minutes=settings.PRIVACY_VERIFY_LINK_MINUTES)
    with transaction.atomic():
        ids = list(
            DataRequest.objects.select_for_update()
            .filter(status=Status.UNVERIFIED, requested_at__lt=cutoff)
            .values_list("pk", flat=True)
        )
        for details in RequestDetails.objects.filter(request_id__in=ids):
            details.delete()  # one by one: each destroys its data key on commit
        DataRequest.objects.filter(pk__in=ids).update(status=Status.EXPIRED)
    return len(ids)


def exports_expire(*, now: dt.datetime | None = None) -> int:
    """Delete archives nobody downloaded in time."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.PRIVACY_EXPORT_LINK_DAYS)
    expired = DataRequest.objects.filter(
        kind=Kind.EXPORT, export_ready_at__lt=cutoff, export_downloaded_at__isnull=True
    )
    removed = 0
    for request in expired:
        path = export_path(request)
        if path.exists():
            path.unlink()
            removed += 1
    return removed


# How long a closed request keeps who asked (its details), and why:
CONFIRMATION_GRACE = dt.timedelta(days=2)  # a deletion's confirmation e-mail, retried meanwhile


def data_requests_forget_closed(*, now: dt.datetime | None = None) -> int:
    """Shred the details (address, session, reason) of requests that no longer need them: exports
    downloaded or past their link, deletions whose confirmation could not be sent within
    CONFIRMATION_GRACE, denials RETENTION_DAYS after the decision (the requester could still
    come back about it)."""
    now = now or timezone.now()
    export_cutoff = now - dt.timedelta(days=settings.PRIVACY_EXPORT_LINK_DAYS)
    closed = RequestDetails.objects.filter(
        Q(request__kind=Kind.EXPORT, request__export_downloaded_at__isnull=False)
        | Q(request__kind=Kind.EXPORT, request__export_ready_at__lt=export_cutoff)
        | Q(
            request__kind=Kind.DELETION, request__status=Status.DONE, request__completed_at__lt=now - CONFIRMATION_GRACE
        )
        | Q(request__status=Status.DENIED, request__decided_at__lt=now - dt.timedelta(days=settings.RETENTION_DAYS))
    ).select_related("request")
    forgotten = 0
    for details in closed:
        export_path(details.request).unlink(missing_ok=True)
        details.delete()  # its data key is destroyed on commit
        forgotten += 1
    return forgotten
