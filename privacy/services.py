"""Edits of the job schedules (django-celery-beat's tables: the retention purge's entry, privacy.schedule,
and any other an administrator adds), made in the admin and recorded in the audit trail: who
changed which schedule, and which of its fields (names only, never values)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models, transaction
from django_celery_beat.models import PeriodicTask

from audit.actions import Action
from audit.services import record


def _record(schedule: models.Model, *, change: str, fields: Iterable[str], by: Any) -> None:
    record(
        Action.SCHEDULE_EDITED, actor=by, obj=schedule, details={"change": change, "fields": ",".join(sorted(fields))}
    )


def _changed_fields(schedule: models.Model) -> list[str]:
    """Which of the row's stored fields the instance now differs in (read from the database:
    a form's changed_data is not to be trusted here, django-timezone-field's choice always
    reports the time zone as changed)."""
    fields = [f for f in schedule._meta.concrete_fields if not f.primary_key]
    stored = type(schedule)._base_manager.filter(pk=schedule.pk).values(*(f.attname for f in fields)).first()
    if stored is None:
        return []
    return sorted(f.name for f in fields if stored[f.attname] != getattr(schedule, f.attname))


def schedule_save(*, schedule: models.Model, by: Any, created: bool) -> None:
    """Save a periodic task or a schedule (crontab, interval, solar, clocked) from its admin form
    (the whole row, as the admin does). A save that changed nothing records nothing."""
    with transaction.atomic():
        changed = [] if created else _changed_fields(schedule)
        schedule.save()
        if created or changed:
            _record(schedule, change="added" if created else "changed", fields=changed, by=by)


def schedule_delete(*, schedule: models.Model, by: Any) -> None:
    with transaction.atomic():
        pk = schedule.pk
        schedule.delete()
        record(
            Action.SCHEDULE_EDITED,
            actor=by,
            obj=(schedule._meta.model_name, pk),
            details={"change": "deleted", "fields": ""},
        )


def periodic_tasks_enable(*, tasks: models.QuerySet[PeriodicTask], enabled: bool | None, by: Any) -> int:
    """Turn periodic tasks on (True), off (False: beat forgets their last run, as
    django-celery-beat's own action does) or each the other way (None). Returns how many changed."""
    changed = 0
    with transaction.atomic():
        for task in tasks.select_for_update(of=("self",)).order_by("pk"):
            turn_on = (not task.enabled) if enabled is None else enabled
            if task.enabled == turn_on:
                continue
            task.enabled = turn_on
            fields = ["enabled"] if turn_on else ["enabled", "last_run_at"]
            if not turn_on:
                task.last_run_at = None
            task.save(update_fields=fields)
            _record(task, change="changed", fields=fields, by=by)
            changed += 1  # PeriodicTask.save tells beat the schedule changed
    return changed
