from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite

# The admin demands a verified second factor too, not only the login page in front of it.
admin.site.__class__ = OTPAdminSite

urlpatterns = [
    path("", include("accounts.urls")),
    path("", include("conversations.urls")),
    path("privacy/", include("privacy.urls")),
    path("admin/", admin.site.urls),
]
