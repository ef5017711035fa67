from __future__ import annotations

from celery import shared_task

from accounts import addresses, services
from chatbot_site.jobs import RETRIED_STEP


@shared_task(**RETRIED_STEP)
def email_confirmation_send(user_id: int) -> bool:
    return addresses.email_confirmation_send(user_id=user_id)


@shared_task(**RETRIED_STEP)
def sign_up_refusal_send(sealed: str) -> bool:
    return addresses.sign_up_refusal_send(sealed=sealed)


@shared_task
def pending_emails_forget() -> int:
    return addresses.pending_emails_forget()


@shared_task
def sessions_clear_expired() -> int:
    return services.sessions_clear_expired()


@shared_task
def sessions_end_inactive_staff() -> int:
    return services.sessions_end_inactive_staff()


@shared_task
def failed_sign_ins_clear_expired() -> int:
    return services.failed_sign_ins_clear_expired()
