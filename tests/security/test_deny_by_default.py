"""Deny by default: every view needs a signed-in user unless it is marked public
(`login_not_required`), and the list of public views is written down here, so that making a page
public is a visible decision. Role areas are decided per view (accounts.access.role_required),
not by URL prefix."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts import roles
from conversations.access import may_see_dashboard
from privacy.access import may_handle_incidents, may_view_trail

PUBLIC_VIEWS = {
    "conversations:home",
    "conversations:widget",
    "conversations:demo_site",
    "accounts:login",
    "accounts:logout",
    "accounts:sign_up",
    "accounts:sign_up_check_email",
    "accounts:email_confirm",
    "privacy:notice",
    "privacy:request_new",
    "privacy:request_sent",
    "privacy:request_verify",
    "privacy:request_status_link",
    "privacy:export_download",
    "privacy:chat_delete",
    # The admin's own sign-in page (it sends to ours, accounts.admin.ConfidantAdminSite.login).
    "admin:login",
}

ROLE_VIEWS = {
    "conversations:console": roles.is_console_user,
    "conversations:console_history": roles.is_console_user,
    "conversations:console_dashboard": may_see_dashboard,
    "conversations:console_conversation": roles.is_console_user,
    "conversations:console_claim": roles.is_console_user,
    "conversations:console_assign": roles.is_console_user,
    "conversations:console_resolve": roles.is_console_user,
    "conversations:console_hold": roles.is_console_user,
    "conversations:canned_fill": roles.is_console_user,
    "conversations:canned_list": roles.is_console_user,
    "conversations:canned_new": roles.is_console_user,
    "conversations:canned_edit": roles.is_console_user,
    "conversations:canned_delete": roles.is_console_user,
    "conversations:my_conversations": roles.is_customer,
    "conversations:my_conversation": roles.is_customer,
    "accounts:email_address": roles.is_customer,
    "privacy:officer_queue": roles.is_privacy_officer,
    "privacy:officer_request": roles.is_privacy_officer,
    "privacy:trail": may_view_trail,
    "privacy:trail_export": may_view_trail,
    "privacy:alerts": may_view_trail,
    "privacy:alert": may_view_trail,
    "privacy:alert_acknowledge": may_view_trail,
    "privacy:incidents": may_handle_incidents,
    "privacy:incident": may_handle_incidents,
}


def _views(resolver: URLResolver, namespace: str = "") -> Iterator[tuple[str, Any]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _views(entry, f"{namespace}{entry.namespace}:" if entry.namespace else namespace)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name or entry.pattern}", entry.callback


def _is_public(view: Any) -> bool:
    return getattr(view, "login_required", True) is False


def test_login_is_required_by_middleware_after_authentication() -> None:
    middleware = settings.MIDDLEWARE
    login_required = middleware.index("django.contrib.auth.middleware.LoginRequiredMiddleware")
    assert login_required > middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware")


def test_only_the_listed_views_are_public() -> None:
    public = {name for name, view in _views(get_resolver()) if _is_public(view)}
    assert public == PUBLIC_VIEWS


@pytest.mark.parametrize(("name", "view"), list(_views(get_resolver())), ids=lambda v: v if isinstance(v, str) else "")
def test_every_view_sends_anonymous_visitors_to_sign_in_unless_public(name: str, view: Any) -> None:
    request = RequestFactory().get("/somewhere/")
    request.user = AnonymousUser()
    response = LoginRequiredMiddleware(lambda r: HttpResponse()).process_view(request, view, (), {})
    if name in PUBLIC_VIEWS:
        assert response is None, name
    else:
        assert response is not None and response.status_code == 302, name
        # The admin's index goes through its own sign-in page, which sends on to ours.
        logins = (resolve_url(settings.LOGIN_URL) + "?", reverse("admin:login") + "?")
        assert response.url.startswith(logins if name.startswith("admin:") else logins[0]), name


def test_role_areas_are_decided_per_view_by_a_role_predicate() -> None:
    views = dict(_views(get_resolver()))
    found = {name: getattr(views[name], "role_required", None) for name in ROLE_VIEWS}
    assert found == ROLE_VIEWS
    # No other view is restricted to a role (a new one is added to ROLE_VIEWS on purpose).
    restricted = {name for name, view in views.items() if getattr(view, "role_required", None) is not None}
    assert restricted == set(ROLE_VIEWS)
