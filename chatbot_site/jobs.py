"""Queueing Celery tasks from services.

Tasks are thin wrappers that import services; services must not import tasks back. So a service
names the task it queues, and it is found in Celery's registry when the transaction commits (Celery's
autodiscovery imports every app's tasks module, in a worker at start-up, elsewhere at the first
task queued). tests/test_jobs.py checks that every name queued exists.
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.db import InterfaceError, OperationalError, transaction

from chatbot_site.mail import MailTemporaryFailure

# The options of every task that carries out a step of a request (sending an e-mail, deleting,
# exporting). Every such step is idempotent, so a task is acknowledged only once it has run, and
# retried while the mail relay or the database fails for a while. A worker killed midway (say, out of
# memory) does not get the task straight back, which could loop: the hourly jobs re-send what is
# still stuck.
RETRIED_STEP: dict[str, Any] = {
    "acks_late": True,
    "autoretry_for": (MailTemporaryFailure, OperationalError, InterfaceError),
    "retry_backoff": 30,
    "retry_backoff_max": 1800,
    "max_retries": 12,
}


def enqueue_on_commit(task_name: str, *args: Any) -> None:
    """Queue the task `task_name` (its full dotted name) with these arguments once the current
    transaction commits; at once outside one. Pass ids, never personal data: arguments sit in the
    broker."""
    transaction.on_commit(lambda: enqueue(task_name, *args), robust=True)


def enqueue(task_name: str, *args: Any) -> None:
    """Queue the task `task_name` now."""
    if task_name not in current_app.tasks:
        # A web process has not imported the apps' tasks modules yet: Celery's autodiscovery does.
        current_app.loader.import_default_modules()
    current_app.tasks[task_name].delay(*args)
