"""The privacy notice is written from live configuration, and its version moves with its text."""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db

# Conversations record which notice version the customer was shown: the text of a version must
# never change. Changing templates/privacy/notice.html? Bump PRIVACY_NOTICE_VERSION in settings and
# record the new fingerprint here.
FINGERPRINTS = {
    "2026-11-23.3": "039f1dc49dbbfe63",
    "2026-11-30.1": "5b5b8d5350e15837",
    "2026-12-01.1": "a816ef44eda8267d",
    "2026-12-01.2": "c4016fa75dedefee",
}


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
        f"Version {settings.PRIVACY_NOTICE_VERSION}",
        "card number, card expiry date, card security code, IBAN",
        "phone number (in GB and international formats)",
        "Nothing is kept until you write your first message",
        "sign in to our app, never here",
    ):
        assert fact in page, fact
    settings.PRIVACY_AUTO_APPROVE_DELETION = True
    assert "Confirmed requests are carried out at once" in Client().get("/privacy/").content.decode()


def _text(page: str) -> str:
    """The page as a reader sees it: no tags, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_the_notice_answers_every_question_of_article_13_from_the_live_settings(settings: Any) -> None:
    settings.PRIVACY_CONTROLLER_NAME = "Northwind Savings AG"
    settings.PRIVACY_CONTROLLER_CONTACT = "Bahnhofstrasse 1, 8001 Zürich · privacy@northwind.example"
    settings.PRIVACY_DPO_CONTACT = "Dana Officer, dpo@northwind.example"
    settings.PRIVACY_PURPOSES = [
        {"purpose": "Answering questions about savings accounts", "basis": "Art. 6(1)(b) GDPR: our contract"},
        {"purpose": "Detecting fraud", "basis": "Art. 6(1)(f) GDPR: legitimate interest"},
    ]
    settings.PRIVACY_PROCESSORS = [
        {"who": "Cumulus Hosting GmbH", "what": "runs our servers", "where": "Frankfurt, Germany"},
        {"who": "Postwerk Mail AG", "what": "relays our e-mail", "where": "Bern, Switzerland"},
    ]
    settings.PRIVACY_SUPERVISORY_AUTHORITY = "the Federal Data Protection Commissioner, edoeb.example"
    settings.RETENTION_DAYS = 45
    settings.AUDIT_RETENTION_DAYS = 400
    settings.BACKUP_RETENTION_DAYS = 14
    settings.SESSION_COOKIE_AGE = 3 * 24 * 60 * 60
    settings.PRIVACY_EXPORT_LINK_DAYS = 5
    page = Client().get("/privacy/").content.decode()
    text = _text(page)
    for fact in (
        # the controller, its contact, the data-protection officer
        "Controller Northwind Savings AG",
        "Contact Bahnhofstrasse 1, 8001 Zürich · privacy@northwind.example",
        "Data-protection officer Dana Officer, dpo@northwind.example",
        # each purpose with its legal basis
        "Answering questions about savings accounts Art. 6(1)(b) GDPR: our contract",
        "Detecting fraud Art. 6(1)(f) GDPR: legitimate interest",
        # recipients and processors, and no LLM provider
        "Cumulus Hosting GmbH : runs our servers (in Frankfurt, Germany)",
        "Postwerk Mail AG : relays our e-mail (in Bern, Switzerland)",
        "No AI provider receives your messages",
        # retention per kind of data
        "Conversations (transcripts and staff notes on them) Deleted automatically 45 days after their last message",
        "The chat cookie in your browser 3 days",
        "A copy of your data you asked for Until you download it, at most 5 days",
        "Audit entries (who accessed what, when, from which network address) 400 days, also after your data is deleted",
        "Deletion records: the dates, how much was deleted, a keyed fingerprint of your address Kept as proof",
        "Backups of our databases 14 days",
        # staff access: the tamper-evident trail, its retention, client addresses, "who read my data"
        "recorded in a tamper-evident audit trail: the role, the action, the time and the network (IP) address",
        "Audit entries are kept 400 days",
        '"My conversations" shows, for each conversation, which roles accessed it and when',
        # a deletion keeps the audit entries
        "We also keep the audit entries about your data",
        "never what you wrote, your name or your e-mail address",
        # each right and how to use it here
        "A copy of your data (access, portability)",
        "Deletion : your conversations, your account",
        "Correction : signed in, change your e-mail address",
        "Restriction and objection : write to Dana Officer, dpo@northwind.example",
        "No decision by machine alone",
        "Seeing who read your data",
        # the supervisory authority
        "supervisory authority: the Federal Data Protection Commissioner, edoeb.example",
        # the automated assistant answers first
        "An automated assistant answers first",
    ):
        assert fact in text, fact
    headings = re.findall(r"<h2 id=\"(\w+)\">", page)
    assert headings == [
        "controller", "collected", "purposes", "assistant", "access", "recipients", "protection", "retention",
        "rights", "complaints",
    ]  # fmt: skip
    assert page.count("<table") == 2  # purposes, retention


def test_the_notice_says_what_holds_when_optional_answers_are_unset(settings: Any) -> None:
    settings.PRIVACY_DPO_CONTACT = ""
    settings.PRIVACY_PROCESSORS = []
    settings.PRIVACY_SUPERVISORY_AUTHORITY = ""
    settings.PRIVACY_CONTROLLER_NAME = "Northwind Savings AG"
    settings.PRIVACY_CONTROLLER_CONTACT = "privacy@northwind.example"
    text = _text(Client().get("/privacy/").content.decode())
    for fact in (
        "Data-protection officer We have not appointed one. Write to the contact above.",
        "No other company processes your data for this chat: Northwind Savings AG runs its servers and e-mail itself",
        "Restriction and objection : write to privacy@northwind.example",
        "supervisory authority: the one where you live or work",
    ):
        assert fact in text, fact


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
