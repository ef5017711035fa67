from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PrivacyConfig(AppConfig):
    name = "privacy"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported once the models are loaded (Django's app-loading order), not to dodge a cycle.
        from privacy import schedule

        post_migrate.connect(schedule.ensure_retention_schedule, sender=self)
