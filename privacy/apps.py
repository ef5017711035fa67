from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PrivacyConfig(AppConfig):
    name = "privacy"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported once the models are loaded (Django's app-loading order), not to dodge a cycle.
        from audit.services import recorded
        from privacy import schedule
        from privacy.oversight import rules

        post_migrate.connect(schedule.ensure_retention_schedule, sender=self)
        # The alert rules run on every audit entry, after the transaction that recorded it commits.
        recorded.connect(rules.entry_recorded, dispatch_uid="privacy.oversight.rules")
