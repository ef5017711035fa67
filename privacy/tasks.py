from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from privacy import keys
from privacy.mail import MailTemporaryFailure


@shared_task
def data_keys_collect_orphans() -> int:
    return keys.data_keys_collect_orphans()


@shared_task
def retention_purge(batch_size: int = 1000, pause: float = 0.0) -> int:
    """The daily purge (scheduled in the database: see privacy.schedule)."""
    from privacy import retention

    return retention.purge(batch_size=batch_size, pause=pause).conversations


# Data-subject requests (privacy.requests). Ids only: addresses and content never sit in the broker.
# Every step is idempotent, so a task is acknowledged only once it has run, and retried while the
# mail relay or the database fails for a while. A worker killed midway (say, out of memory) does not
# get the task straight back, which could loop: the hourly tidy re-sends what is still stuck.
_STEP = {
    "acks_late": True,
    "autoretry_for": (MailTemporaryFailure, OperationalError, InterfaceError),
    "retry_backoff": 30,
    "retry_backoff_max": 1800,
    "max_retries": 12,
}


@shared_task(**_STEP)
def data_request_send_verification(request_id: str) -> bool:
    from privacy import requests

    return requests.verification_send(request_id=request_id)


@shared_task(**_STEP)
def deletion_execute(request_id: str) -> None:
    from privacy import requests

    requests.deletion_execute(request_id=request_id)


@shared_task(**_STEP)
def deletion_denied_notify(request_id: str) -> None:
    from privacy import requests

    requests.denial_send(request_id=request_id)


@shared_task(**_STEP)
def export_build(request_id: str) -> None:
    from privacy import requests

    requests.export_build(request_id=request_id)


@shared_task
def data_requests_tidy() -> dict[str, int]:
    """Hourly: re-send the steps of requests still stuck, forget unconfirmed requests whose link ran
    out, delete undownloaded exports past their link, shred the details of closed requests that no
    longer need them."""
    from privacy import requests

    return {
        "redriven": requests.data_requests_redrive(),
        "expired": requests.data_requests_expire_unverified(),
        "exports_deleted": requests.exports_expire(),
        "forgotten": requests.data_requests_forget_closed(),
    }
