from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django_celery_beat import admin as beat_admin  # registers its admins first: replaced below
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask, SolarSchedule

from privacy import schedule, services
from privacy.models import RetentionRun


@admin.register(RetentionRun)
class RetentionRunAdmin(admin.ModelAdmin):
    """What each retention purge deleted (counts, never content), and when the next one runs."""

    list_display = (
        "started_at",
        "status",
        "cutoff",
        "conversations",
        "messages",
        "notes",
        "data_keys",
        "held",
        "finished_at",
    )
    list_filter = ("status",)
    date_hierarchy = "started_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        described, next_at = schedule.next_run()
        title = (
            f"Retention runs — schedule: {described}; next run: {next_at:%Y-%m-%d %H:%M %Z}"
            if next_at
            else (f"Retention runs — schedule: {described}")
        )
        return super().changelist_view(request, {**(extra_context or {}), "title": title})


# --- the job schedules (django-celery-beat): every edit through privacy.services, recorded ----------
class _RecordedEdits:
    """Saves and deletions go through privacy.services, which records them in the audit trail."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        services.schedule_save(schedule=obj, by=request.user, created=not change)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.schedule_delete(schedule=obj, by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            services.schedule_delete(schedule=obj, by=request.user)


class PeriodicTaskAdmin(_RecordedEdits, beat_admin.PeriodicTaskAdmin):
    """The retention purge's schedule is edited here ("Periodic tasks"). The bulk actions that
    turn tasks on or off go through the recorded service too ("Run" changes nothing)."""

    def _enable(self, request: HttpRequest, queryset: Any, enabled: bool | None, done: str) -> None:
        changed = services.periodic_tasks_enable(tasks=queryset, enabled=enabled, by=request.user)
        self.message_user(request, f"{changed} task(s) {done}.")

    @admin.action(description="Enable selected tasks")
    def enable_tasks(self, request: HttpRequest, queryset: Any) -> None:
        self._enable(request, queryset, True, "enabled")

    @admin.action(description="Disable selected tasks")
    def disable_tasks(self, request: HttpRequest, queryset: Any) -> None:
        self._enable(request, queryset, False, "disabled")

    @admin.action(description="Toggle activity of selected tasks")
    def toggle_tasks(self, request: HttpRequest, queryset: Any) -> None:
        self._enable(request, queryset, None, "toggled")


class CrontabScheduleAdmin(_RecordedEdits, beat_admin.CrontabScheduleAdmin):
    pass


class IntervalScheduleAdmin(_RecordedEdits, beat_admin.IntervalScheduleAdmin):
    pass


class SolarScheduleAdmin(_RecordedEdits, beat_admin.SolarScheduleAdmin):
    pass


class ClockedScheduleAdmin(_RecordedEdits, beat_admin.ClockedScheduleAdmin):
    pass


for _model, _admin in (
    (PeriodicTask, PeriodicTaskAdmin),
    (CrontabSchedule, CrontabScheduleAdmin),
    (IntervalSchedule, IntervalScheduleAdmin),
    (SolarSchedule, SolarScheduleAdmin),
    (ClockedSchedule, ClockedScheduleAdmin),
):
    admin.site.unregister(_model)
    admin.site.register(_model, _admin)
