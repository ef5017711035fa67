from __future__ import annotations

from celery import shared_task

from accounts import services


@shared_task
def sessions_clear_expired() -> int:
    return services.sessions_clear_expired()


@shared_task
def sessions_end_inactive_staff() -> int:
    return services.sessions_end_inactive_staff()


@shared_task
def failed_sign_ins_clear_expired() -> int:
    return services.failed_sign_ins_clear_expired()
