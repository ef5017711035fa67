from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from accounts.admin import ConfidantAdminSite

# The admin demands a verified second factor too, and signs in, out and changes passwords through
# the site's own pages (lockout, daily code cap, re-authentication, ending sessions everywhere).
admin.site.__class__ = ConfidantAdminSite
admin.site.site_header = admin.site.site_title = "Confidant administration"

urlpatterns = [
    path("", include("accounts.urls")),
    path("", include("conversations.urls")),
    path("privacy/", include("privacy.urls")),
    path("admin/", admin.site.urls),
]
