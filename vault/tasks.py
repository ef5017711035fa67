from __future__ import annotations

from celery import shared_task

from vault import rotation


@shared_task
def data_keys_collect_orphans() -> int:
    return rotation.data_keys_collect_orphans()
