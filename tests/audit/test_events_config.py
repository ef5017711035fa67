"""Key rotation and job-schedule edits in the audit trail, recorded once by the command and the
admin pages that make them."""

from __future__ import annotations

import base64
import os
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from accounts.models import User
from audit.actions import Action, Outcome
from privacy import schedule
from tests.audit.events import assert_no_canary, entries, only
from tests.auth import signed_in_client
from tests.factories import UserFactory
from vault import datakeys
from vault.models import KeyRotation

pytestmark = pytest.mark.django_db

KEY_A, KEY_B = os.urandom(32), os.urandom(32)


def _use_keys(settings: Any, *keys: bytes) -> None:
    settings.FIELD_ENCRYPTION_KEYS = list(keys)
    datakeys.forget_data_keys()


def _rotate(*args: str) -> None:
    call_command("rotate_encryption_keys", *args, stdout=StringIO(), stderr=StringIO())


# --- key rotation ----------------------------------------------------------------------------------
def test_a_rewrap_is_recorded_once_with_its_counts(settings: Any) -> None:
    _use_keys(settings, KEY_A)
    UserFactory(email="rotated.canary@example.com")
    _use_keys(settings, KEY_B, KEY_A)
    _rotate()
    entry = only(Action.KEYS_ROTATED)
    assert (entry.actor_id, entry.actor_role, entry.outcome) == (None, "system", Outcome.OK)
    assert entry.details["step"] == "rewrap" and entry.details["rewrapped"] >= 1
    assert entry.details["unopenable"] == 0
    assert_no_canary("rotated.canary@example.com", base64.urlsafe_b64encode(KEY_B).decode())


def test_a_data_run_records_its_rewrap_and_its_re_keying_once_each(settings: Any) -> None:
    _use_keys(settings, KEY_A)
    UserFactory(first_name="Canaryfirst")
    _use_keys(settings, KEY_B, KEY_A)
    _rotate("--data")
    rewrap, data = entries(Action.KEYS_ROTATED)
    assert rewrap.details["step"] == "rewrap" and data.details["step"] == "data"
    run = KeyRotation.objects.get()
    assert (data.object_type, data.object_id, data.outcome) == ("keyrotation", str(run.pk), Outcome.OK)
    assert data.details["subjects"] >= 1 and data.details["values"] >= 1
    assert_no_canary("Canaryfirst")


def test_status_records_nothing() -> None:
    _rotate("--status")
    assert not entries(Action.KEYS_ROTATED)


# --- schedules in the admin ------------------------------------------------------------------------
@pytest.fixture
def retention_task(db: None) -> PeriodicTask:
    schedule.ensure_retention_schedule()
    return PeriodicTask.objects.select_related("crontab").get(name=schedule.TASK_NAME)


def test_editing_the_retention_crontab_records_which_fields_changed(
    retention_task: PeriodicTask, superuser: User
) -> None:
    crontab = retention_task.crontab
    admin = signed_in_client(superuser)
    url = f"/admin/django_celery_beat/crontabschedule/{crontab.pk}/change/"
    data = {
        "minute": "45",
        "hour": "4",
        "day_of_month": crontab.day_of_month,
        "month_of_year": crontab.month_of_year,
        "day_of_week": crontab.day_of_week,
        "timezone": admin.get(url).context["adminform"].form["timezone"].value(),
        # The page lists the tasks on this schedule (read-only): its formset comes back as it was.
        "periodictask_set-TOTAL_FORMS": "1",
        "periodictask_set-INITIAL_FORMS": "1",
        "periodictask_set-0-id": str(retention_task.pk),
        "periodictask_set-0-crontab": str(crontab.pk),
    }
    response = admin.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = only(Action.SCHEDULE_EDITED)
    assert (entry.actor_id, entry.actor_role, entry.outcome) == (superuser.pk, "superuser", Outcome.OK)
    assert (entry.object_type, entry.object_id) == ("crontabschedule", str(crontab.pk))
    assert entry.details == {"change": "changed", "fields": "hour,minute"}
    assert CrontabSchedule.objects.get(pk=crontab.pk).hour == "4"
    admin.post(url, {**data})  # saved again unchanged: no edit
    assert len(entries(Action.SCHEDULE_EDITED)) == 1


def test_disabling_the_retention_task_from_the_list_is_recorded(retention_task: PeriodicTask, superuser: User) -> None:
    admin = signed_in_client(superuser)
    response = admin.post(
        "/admin/django_celery_beat/periodictask/", {"action": "disable_tasks", "_selected_action": [retention_task.pk]}
    )
    assert response.status_code == 302
    assert not PeriodicTask.objects.get(pk=retention_task.pk).enabled
    entry = only(Action.SCHEDULE_EDITED)
    assert (entry.actor_id, entry.object_type, entry.object_id) == (
        superuser.pk,
        "periodictask",
        str(retention_task.pk),
    )
    assert entry.details == {"change": "changed", "fields": "enabled,last_run_at"}
    # Disabling it again changes nothing, and records nothing.
    admin.post(
        "/admin/django_celery_beat/periodictask/", {"action": "disable_tasks", "_selected_action": [retention_task.pk]}
    )
    assert len(entries(Action.SCHEDULE_EDITED)) == 1


def test_deleting_a_schedule_is_recorded(superuser: User) -> None:
    crontab = CrontabSchedule.objects.create(minute="7", hour="7")
    admin = signed_in_client(superuser)
    response = admin.post(f"/admin/django_celery_beat/crontabschedule/{crontab.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    entry = only(Action.SCHEDULE_EDITED)
    assert (entry.object_type, entry.object_id, entry.details["change"]) == (
        "crontabschedule",
        str(crontab.pk),
        "deleted",
    )
