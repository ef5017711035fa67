from __future__ import annotations

from django.apps import AppConfig, apps
from django.core.signals import setting_changed
from django.db.models.signals import post_delete, pre_delete


class VaultConfig(AppConfig):
    name = "vault"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported once the models are loaded (Django's app-loading order), not to dodge a cycle.
        from vault import checks, fields, signals  # noqa: F401 - checks registers itself

        setting_changed.connect(signals.keyring_reset)
        for model in apps.get_models():
            if issubclass(model, fields.DataKeyOwner):
                pre_delete.connect(fields.note_key_before_delete, sender=model)
                post_delete.connect(fields.destroy_key_on_delete, sender=model)
