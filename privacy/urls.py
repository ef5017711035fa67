from __future__ import annotations

from django.urls import path

from . import views

app_name = "privacy"
urlpatterns = [
    path("", views.notice, name="notice"),
]
