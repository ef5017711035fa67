from __future__ import annotations

from celery import shared_task

from privacy import keys


@shared_task
def data_keys_collect_orphans() -> int:
    return keys.data_keys_collect_orphans()


@shared_task
def retention_purge(batch_size: int = 1000, pause: float = 0.0) -> int:
    """The daily purge (scheduled in the database: see privacy.schedule)."""
    from privacy import retention

    return retention.purge(batch_size=batch_size, pause=pause).conversations


# Data-subject requests (privacy.requests). Ids only: addresses and content never sit in the broker.
# E-mail may fail for a while (the relay is outside): retried, as each step is idempotent.
_MAIL_RETRY = {"autoretry_for": (OSError,), "retry_backoff": 30, "retry_backoff_max": 1800, "max_retries": 12}


@shared_task(**_MAIL_RETRY)
def data_request_send_verification(request_id: str) -> bool:
    from privacy import requests

    return requests.verification_send(request_id=request_id)


@shared_task(**_MAIL_RETRY)
def deletion_execute(request_id: str) -> None:
    from privacy import requests

    requests.deletion_execute(request_id=request_id)


@shared_task(**_MAIL_RETRY)
def deletion_denied_notify(request_id: str) -> None:
    from privacy import requests

    requests.denial_send(request_id=request_id)


@shared_task(**_MAIL_RETRY)
def export_build(request_id: str) -> None:
    from privacy import requests

    requests.export_build(request_id=request_id)


@shared_task
def data_requests_tidy() -> tuple[int, int, int]:
    """Hourly: forget unconfirmed requests whose link ran out, delete undownloaded exports past
    their link, shred the details of closed requests that no longer need them."""
    from privacy import requests

    return (
        requests.data_requests_expire_unverified(),
        requests.exports_expire(),
        requests.data_requests_forget_closed(),
    )
