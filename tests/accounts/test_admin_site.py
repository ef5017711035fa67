"""The admin is ours (accounts.apps.ConfidantAdminConfig): django-otp's verified-only site, under
Django's own name, with every model registered on it."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import reverse
from django_otp.admin import OTPAdminSite

from accounts.models import AuthenticatorDevice, User
from tests.auth import signed_in_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_admin_site_is_the_otp_one_under_djangos_name() -> None:
    assert isinstance(admin.site, OTPAdminSite)
    assert admin.site.name == "admin" and reverse("admin:index") == "/admin/"
    for model in (User, Group, AuthenticatorDevice):  # ours, and those registered while the site was chosen
        assert admin.site.is_registered(model), model


def test_the_site_itself_refuses_a_superuser_without_a_verified_second_factor() -> None:
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    request = RequestFactory().get("/admin/")
    request.user = root
    root.is_verified = lambda: False  # what django-otp's middleware sets
    assert not admin.site.has_permission(request)
    root.is_verified = lambda: True
    assert admin.site.has_permission(request)


def test_a_verified_superuser_gets_the_confidant_administration() -> None:
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    page = signed_in_client(root).get("/admin/")
    assert page.status_code == 200 and b"Confidant administration" in page.content
