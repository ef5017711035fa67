"""The Celery app and the beat schedule.

Embedded default: a broker kept in files under var/ (no service needed), so `make run` runs a real
worker and beat. With REDIS_URL set the broker is Redis. Tasks are thin wrappers over services and
receive ids, never message text.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot_site.settings")

app = Celery("confidant")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _file_broker_folders(sender: Celery, source: Any, **kwargs: Any) -> None:
    """The file broker (embedded mode) reads and writes folders it does not make: make them when a
    process (web, worker, beat, a command) first reads the Celery configuration, before it sends or
    takes a task."""
    if not str(source.broker_url).startswith("filesystem://"):
        return
    options = source.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


app.conf.beat_schedule = {
    "sessions-clear-expired": {
        "task": "accounts.tasks.sessions_clear_expired",
        "schedule": crontab(minute=17, hour="*"),
    },
    "failed-sign-ins-clear-expired": {
        "task": "accounts.tasks.failed_sign_ins_clear_expired",
        "schedule": crontab(minute=19, hour="*"),
    },
    "pending-emails-forget": {
        "task": "accounts.tasks.pending_emails_forget",
        "schedule": crontab(minute=31, hour="*"),
    },
    "data-requests-tidy": {
        "task": "privacy.tasks.data_requests_tidy",
        "schedule": crontab(minute=29, hour="*"),
    },
    "data-keys-collect-orphans": {
        "task": "vault.tasks.data_keys_collect_orphans",
        "schedule": crontab(minute=23, hour=4),
    },
    "sessions-end-inactive-staff": {
        "task": "accounts.tasks.sessions_end_inactive_staff",
        "schedule": 60.0,
    },
}
