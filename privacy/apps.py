from __future__ import annotations

from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.apps import apps
        from django.core.signals import setting_changed
        from django.db.models.signals import post_delete, post_migrate, pre_delete

        from . import checks, crypto, schedule  # noqa: F401 - checks registers itself

        setting_changed.connect(crypto.reset_keyring_on_change)
        post_migrate.connect(schedule.ensure_retention_schedule, sender=self)
        for model in apps.get_models():
            if issubclass(model, crypto.DataKeyOwner):
                pre_delete.connect(crypto.note_key_before_delete, sender=model)
                post_delete.connect(crypto.destroy_key_on_delete, sender=model)
