from __future__ import annotations

from celery import shared_task

from privacy import keys


@shared_task
def data_keys_collect_orphans() -> int:
    return keys.data_keys_collect_orphans()
