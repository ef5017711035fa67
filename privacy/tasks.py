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
