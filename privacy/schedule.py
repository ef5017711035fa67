"""The retention purge's entry in django-celery-beat's database schedule.

Created once (after migrate), daily at RETENTION_SCHEDULE_HOUR:MINUTE in the site's time zone;
from then on the admin's "Periodic tasks" page decides, and a restart never undoes an edit. The
other beat jobs are defined in code (chatbot_site/celery.py) and synced at beat's start.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.utils import timezone

TASK_NAME = "Retention purge"
TASK = "privacy.tasks.retention_purge"


def ensure_retention_schedule(**kwargs: Any) -> None:
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    if kwargs.get("using", "default") != "default" or PeriodicTask.objects.filter(name=TASK_NAME).exists():
        return
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=str(settings.RETENTION_SCHEDULE_MINUTE),
        hour=str(settings.RETENTION_SCHEDULE_HOUR),
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone=settings.TIME_ZONE,
    )
    PeriodicTask.objects.create(
        name=TASK_NAME,
        task=TASK,
        crontab=crontab,
        description=f"Deletes conversations whose last message is older than RETENTION_DAYS ({settings.RETENTION_DAYS}).",
    )


def next_run() -> tuple[str, dt.datetime | None]:
    """The schedule in words and the next time it fires (None when disabled or missing)."""
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.filter(name=TASK_NAME).select_related("crontab").first()
    if task is None or task.crontab is None:
        return "not scheduled", None
    schedule = task.crontab.schedule
    described = f"cron '{task.crontab.minute} {task.crontab.hour} {task.crontab.day_of_month} {task.crontab.month_of_year} {task.crontab.day_of_week}' ({task.crontab.timezone})"
    if not task.enabled:
        return described + ", disabled", None
    now = timezone.now()
    last = task.last_run_at or now
    at = now + schedule.remaining_estimate(last) + dt.timedelta(seconds=30)
    return described, max(at, now).replace(second=0, microsecond=0)  # overdue (beat was down): now
