from __future__ import annotations

from celery import shared_task
from django.conf import settings

from chatbot_site.jobs import RETRIED_STEP
from privacy import retention
from privacy.data_requests import deletion, export, jobs, notify
from privacy.oversight import alerts
from vault import rotation


@shared_task
def retention_purge(batch_size: int | None = None, pause: float | None = None) -> int:
    """The daily purge (scheduled in the database: see privacy.schedule), paced so that live
    chats keep their speed: RETENTION_PURGE_BATCH conversations per transaction, then a
    RETENTION_PURGE_PAUSE rest (bench/purging.py measures chat latency during a 1M-message run)."""
    return retention.purge(
        batch_size=batch_size or settings.RETENTION_PURGE_BATCH,
        pause=settings.RETENTION_PURGE_PAUSE if pause is None else pause,
    ).conversations


# Data-subject requests (privacy.data_requests). Ids only: addresses and content never sit in the broker.
@shared_task(**RETRIED_STEP)
def verification_send(request_id: str) -> bool:
    return notify.verification_send(request_id=request_id)


@shared_task(**RETRIED_STEP)
def deletion_execute(request_id: str) -> None:
    deletion.deletion_execute(request_id=request_id)


@shared_task(**RETRIED_STEP)
def denial_send(request_id: str) -> None:
    notify.denial_send(request_id=request_id)


@shared_task(**RETRIED_STEP)
def export_build(request_id: str) -> None:
    export.export_build(request_id=request_id)


# Names of the release before: tasks queued under them just before an upgrade still run.
verification_send_by_old_name = shared_task(name="privacy.tasks.data_request_send_verification", **RETRIED_STEP)(
    verification_send.run
)
denial_send_by_old_name = shared_task(name="privacy.tasks.deletion_denied_notify", **RETRIED_STEP)(denial_send.run)
data_keys_collect_orphans_by_old_name = shared_task(name="privacy.tasks.data_keys_collect_orphans")(
    rotation.data_keys_collect_orphans
)


@shared_task
def data_requests_tidy() -> dict[str, int]:
    """Hourly: re-send the steps of requests still stuck, forget unconfirmed requests whose link ran
    out, delete undownloaded exports past their link, shred the details of closed requests that no
    longer need them."""
    return {
        "redriven": jobs.data_requests_redrive(),
        "expired": jobs.data_requests_expire_unverified(),
        "exports_deleted": jobs.exports_expire(),
        "forgotten": jobs.data_requests_forget_closed(),
    }


@shared_task(**RETRIED_STEP)
def alert_mail_send(alert_id: int) -> int:
    """Tell the privacy officers an audit alert fired (the alert's id only: nothing else in the broker)."""
    return alerts.alert_mail_send(alert_id=alert_id)
