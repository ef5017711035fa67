"""The privacy notice is written from live configuration, and its version moves with its text."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db

# Conversations record which notice version the customer was shown: the text of a version must
# never change. Changing templates/privacy/notice.html? Bump PRIVACY_NOTICE_VERSION in settings and
# record the new fingerprint here.
FINGERPRINTS = {"2026-11-23.3": "039f1dc49dbbfe63", "2026-11-30.1": "5b5b8d5350e15837"}


def test_the_notice_text_changes_only_with_its_version() -> None:
    text = (Path(settings.BASE_DIR) / "templates" / "privacy" / "notice.html").read_bytes()
    assert FINGERPRINTS.get(settings.PRIVACY_NOTICE_VERSION) == hashlib.sha256(text).hexdigest()[:16], (
        "templates/privacy/notice.html changed: bump PRIVACY_NOTICE_VERSION and record its fingerprint"
    )


def test_the_notice_states_the_live_settings(settings: Any) -> None:
    settings.RETENTION_DAYS = 45
    settings.PRIVACY_REQUEST_DUE_DAYS = 21
    settings.PRIVACY_EXPORT_LINK_DAYS = 3
    settings.PRIVACY_VERIFY_LINK_MINUTES = 15
    settings.REDACTION_PHONE_REGION = "GB"
    settings.SECURE_CHANNEL_TEXT = "For card details, sign in to our app, never here."
    page = Client().get("/privacy/").content.decode()
    for fact in (
        "45 days after their last message",
        "within 21 days",
        "for 3 days",
        "for 15 minutes",
        "no outside AI provider receives your messages",
        "Agent, Supervisor",
        'href="/privacy/requests/new/"',
        "Version 2026-11-30.1",
        "card number, card expiry date, card security code, IBAN",
        "phone number (in GB and international formats)",
        "Nothing is kept until you write your first message",
        "sign in to our app, never here",
    ):
        assert fact in page, fact
    settings.PRIVACY_AUTO_APPROVE_DELETION = True
    assert "Confirmed requests are carried out at once" in Client().get("/privacy/").content.decode()


def test_the_widget_links_the_notice_and_delete_this_chat() -> None:
    page = Client().get("/chat/").content.decode()
    assert 'href="/privacy/"' in page and "automated assistant" in page
    assert 'href="/privacy/chat/delete/"' in page


def test_every_page_offers_the_data_request_form_to_those_who_may_use_it(customer: Any, agent: Any) -> None:
    from tests.auth import signed_in_client

    link = b'href="/privacy/requests/new/">Your data</a>'
    assert link in Client().get("/privacy/").content
    assert link in signed_in_client(customer).get("/privacy/").content
    # Staff accounts are an administrator's business: the form would only turn them away.
    assert link not in signed_in_client(agent).get("/privacy/").content
