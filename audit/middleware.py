from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from audit.context import client
from chatbot_site.proxies import Trusted


class AuditContextMiddleware:
    """The client's address (through trusted proxies only, as accounts.network.client_ip finds it)
    for every audit entry this request causes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        address = Trusted(settings.TRUSTED_PROXIES).client(
            request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR", "")
        )
        with client(address):
            return self.get_response(request)
