"""Alerts: raised by the rules (privacy.oversight.rules) at most once per rule, subject and window,
e-mailed to the privacy officers after commit, acknowledged from the alerts page."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from audit.actions import Action
from audit.services import record
from chatbot_site import mail
from chatbot_site.jobs import enqueue_on_commit
from privacy.models import Alert

logger = logging.getLogger(__name__)
MAIL_TASK = "privacy.tasks.alert_mail_send"


def _subject_locked(rule: str, subject: str) -> None:
    """Serialise raising alerts for one rule and subject until the transaction ends, so two entries
    committing together raise one alert. SQLite's transactions are immediate: already one writer."""
    if connection.vendor == "postgresql":
        key = int.from_bytes(
            hashlib.sha256(f"confidant:alert:{rule}:{subject}".encode()).digest()[:8], "big", signed=True
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def alert_raised_lately(
    *, rule: str, subject_user_id: int | None = None, subject_address: str = "", quiet_for: dt.timedelta
) -> bool:
    """Was `rule`'s alert about this subject raised within the last `quiet_for`?"""
    return bool(quiet_for) and (
        Alert.objects.filter(
            rule=rule,
            subject_user_id=subject_user_id,
            subject_address=subject_address,
            created_at__gt=timezone.now() - quiet_for,
        ).exists()
    )


def alert_raise(
    *,
    rule: Alert.Rule,
    subject_user_id: int | None = None,
    subject_address: str = "",
    window_start: dt.datetime,
    window_end: dt.datetime,
    count: int,
    seqs: list[int],
    quiet_for: dt.timedelta,
) -> Alert | None:
    """Store an alert and queue its e-mail, unless one for the same rule and subject was raised in
    the last `quiet_for` (None then). Runs its own transaction."""

    subject = {"rule": rule, "subject_user_id": subject_user_id, "subject_address": subject_address}
    if alert_raised_lately(**subject, quiet_for=quiet_for):  # the common case: no transaction, no lock
        return None
    with transaction.atomic():
        _subject_locked(rule, f"{subject_user_id}|{subject_address}")
        if alert_raised_lately(**subject, quiet_for=quiet_for):  # again, now that racing entries wait for us
            return None
        alert = Alert.objects.create(
            rule=rule,
            subject_user_id=subject_user_id,
            subject_address=subject_address,
            window_start=window_start,
            window_end=window_end,
            count=count,
            entry_seqs=sorted(seqs),
        )
        enqueue_on_commit(MAIL_TASK, alert.pk)
    logger.warning("audit alert %s raised: rule %s, %d events", alert.pk, rule, count)
    return alert


def alert_acknowledge(*, alert: Alert, user: Any) -> bool:
    """Mark the alert seen by `user` (who may: privacy.access.may_acknowledge), recorded in the
    trail; False if someone already had."""
    with transaction.atomic():
        done = Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
            acknowledged_by=user, acknowledged_at=timezone.now()
        )
        if done:
            record(Action.ALERT_ACKNOWLEDGED, actor=user, obj=alert, details={"rule": alert.rule})
    return bool(done)


def alerts_list_open(*, viewer: Any, limit: int = 200) -> tuple[list[Alert], list[Alert]]:
    """The open alerts (newest first, up to `limit`) and the recently acknowledged ones, as shown
    to `viewer`: they name people and client addresses, so showing them is a read of the trail
    (TRAIL_VIEWED, object ("alert", "")), recorded like the trail page's."""
    open_ones = list(open_alerts()[:limit])
    done = recent_acknowledged()
    record(Action.TRAIL_VIEWED, actor=viewer, obj=("alert", ""), details={"alerts": len(open_ones) + len(done)})
    return open_ones, done


def open_alerts() -> QuerySet[Alert]:
    return Alert.objects.filter(acknowledged_at__isnull=True).order_by("-created_at")


def open_alert_count() -> int:
    return Alert.objects.filter(acknowledged_at__isnull=True).count()


def recent_acknowledged(*, limit: int = 50) -> list[Alert]:
    return list(
        Alert.objects.filter(acknowledged_at__isnull=False)
        .select_related("acknowledged_by")
        .order_by("-acknowledged_at")[:limit]
    )


def alert_mail_send(*, alert_id: Any) -> int:
    """E-mail every active privacy officer that `alert_id` fired (run by Celery), once: a run that
    finds it already sent sends nothing. The mail names the rule and links to the alert; no
    person, address or content. Returns how many were sent; MailTemporaryFailure to retry."""
    now = timezone.now()
    if not Alert.objects.filter(pk=alert_id, mailed_at__isnull=True).update(mailed_at=now):
        return 0
    alert = Alert.objects.get(pk=alert_id)
    body = render_to_string(
        "privacy/email/alert.txt",
        {
            "alert": alert,
            "business_name": settings.BUSINESS_NAME,
            "link": settings.SITE_URL + reverse("privacy:alert", kwargs={"alert_id": alert.pk}),
        },
    )
    subject = f"Audit alert: {alert.get_rule_display()}"
    sent = 0
    try:
        for officer in User.objects.filter(role=User.Role.PRIVACY_OFFICER, is_active=True).order_by("pk"):
            if officer.email and mail.send(
                to=officer.email, subject=subject, body=body, what=f"alert.txt e-mail of alert {alert.pk}"
            ):
                sent += 1
    except mail.MailTemporaryFailure:
        # Try again later (the officers already written to may get it twice: at least once).
        Alert.objects.filter(pk=alert_id, mailed_at=now).update(mailed_at=None)
        raise
    return sent
