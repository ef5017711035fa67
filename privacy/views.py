from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import User


def notice(request: HttpRequest) -> HttpResponse:
    """The privacy notice, written from live configuration so it cannot drift."""
    return render(
        request,
        "privacy/notice.html",
        {
            "version": settings.PRIVACY_NOTICE_VERSION,
            "transcript_roles": [User.Role.AGENT.label, User.Role.SUPERVISOR.label],
        },
    )
