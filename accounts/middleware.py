from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from accounts.policy import is_console_user

STAFF_PREFIXES = ("/console/",)


class StaffAreaMiddleware:
    """Deny by default for the staff area: every URL under STAFF_PREFIXES needs a console user.

    One place, so the MFA requirement extends it rather than being remembered per view.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(STAFF_PREFIXES):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            if not is_console_user(request.user):
                raise PermissionDenied("This area is for agents and supervisors.")
        return self.get_response(request)
