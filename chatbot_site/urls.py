from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

# admin.site is accounts.admin_site.ConfidantAdminSite (chosen by accounts.apps.ConfidantAdminConfig).
urlpatterns = [
    path("", include("accounts.urls")),
    path("", include("conversations.urls")),
    path("privacy/", include("privacy.urls")),
    path("admin/", admin.site.urls),
]
