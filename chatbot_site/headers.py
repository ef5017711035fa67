"""Headers on every page the application renders (static files, served by WhiteNoise before this
middleware, keep their long caching).

- `Cache-Control: no-store` (with Django's never-cache set): the pages show transcripts, personal
  data, one-time links or CSRF tokens, and deciding page by page would sooner or later miss one.
  The whole application is dynamic, so the rule is simply every response.
- `Permissions-Policy`: no page uses the camera, microphone, location, payment or sensors.

X-Frame-Options is Django's XFrameOptionsMiddleware (DENY); the pages the widget frame shows are
exempt, and their CSP `frame-ancestors` names WIDGET_EMBED_ORIGINS.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
)


class PrivatePagesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        add_never_cache_headers(response)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
