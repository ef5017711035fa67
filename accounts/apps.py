from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps  # the module: its AdminConfig would count as ours


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Here, not at import: the receivers' modules load models. After axes' own (see receivers).
        from accounts import receivers

        receivers.connect()


class ConfidantAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin, with our site as `admin.site`: it demands a verified second factor, and
    signs in, out and changes passwords through the site's own pages (lockout, daily code cap,
    re-authentication, ending sessions everywhere). Listed in INSTALLED_APPS instead of
    `django.contrib.admin`."""

    default = False  # `accounts` itself stays AccountsConfig
    default_site = "accounts.admin_site.ConfidantAdminSite"
