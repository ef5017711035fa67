from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from privacy import schedule
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
