"""A visitor's deletion request end to end, in Chromium, through the real ASGI server, PostgreSQL,
Redis and a real Celery worker, with e-mail written by Django's file backend: the visitor chats,
asks for deletion, confirms from the e-mail, a privacy officer (with two-step sign-in) approves,
the worker deletes. Afterwards no canary is left in either database's dump, in Redis or in the
media folder, and the tombstone is there."""

from __future__ import annotations

import base64
import re
import subprocess
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from accounts.models import User
from conversations.models import Conversation
from privacy.models import DataRequest, DeletionRecord, RequestDetails
from tests import servers
from tests.auth import totp_device
from tests.e2e.conftest import chromium, staff_sign_in
from tests.factories import UserFactory
from tests.privacy.scenario import canary
from vault.blind import blind_index

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _mail_link(mail_dir: Path, pattern: str) -> str:
    """The path of the newest link matching `pattern` in the e-mails the file backend wrote."""
    found: list[str] = []

    def seen() -> bool:
        texts = [p.read_text() for p in sorted(mail_dir.glob("*.log"))] if mail_dir.exists() else []
        # Quoted-printable may wrap long lines with "=\n".
        found[:] = re.findall(pattern, "\n".join(t.replace("=\n", "") for t in texts))
        return bool(found)

    servers.wait_for(seen, what=f"an e-mail with {pattern}", timeout=60, interval=0.2)
    return found[-1]


def _forms(text: str) -> list[bytes]:
    raw = text.encode()
    return [raw, raw.lower(), text.encode("utf-16-le"), base64.b64encode(raw)[:16], raw.hex().encode()]


def _dump(alias: str) -> bytes:
    return subprocess.run(
        ["pg_dump", "--data-only", servers.test_database_url(alias)], capture_output=True, check=True, timeout=120
    ).stdout


def _redis_bytes() -> bytes:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    chunks = []
    for key in client.scan_iter(count=1000):
        chunks.append(key)
        value = client.dump(key)
        if value:
            chunks.append(value)
    return b"\n".join(chunks)


def test_a_visitor_deletes_their_data_and_an_officer_approves(
    chromium_path: str, requires_postgres: None, requires_redis: None, tmp_path: Path
) -> None:
    said = [canary("e2e-said"), canary("e2e-card")]
    address = f"{canary('e2e-mail').lower()}@example.com"
    officer_key = totp_device(UserFactory(username="pat", first_name="Pat", role=User.Role.PRIVACY_OFFICER)).bin_key
    queue = f"test-{uuid.uuid4().hex[:8]}"
    mail_dir, media = tmp_path / "mail", tmp_path / "media"
    env = {
        "EMAIL_URL": "filemail://",
        "EMAIL_FILE_PATH": str(mail_dir),
        "SITE_URL": "http://confidant.test",
        "MEDIA_ROOT": str(media),
        "CELERY_TASK_DEFAULT_QUEUE": queue,
    }

    with (
        servers.celery_worker(queue=queue, extra_env=env),
        servers.asgi_server(extra_env=env) as base,
        chromium(chromium_path) as browser,
    ):
        visitor = browser.new_context(viewport={"width": 420, "height": 760}).new_page()
        visitor.goto(f"{base}/chat/")
        expect(visitor.locator(".disclosure")).to_contain_text("automated assistant")
        for text in (f"My name is {said[0]}", f"my card number is {said[1]}"):
            visitor.fill("#body", text)
            visitor.keyboard.press("Enter")
        expect(visitor.locator(".msg-customer:not(.msg-pending)")).to_have_count(2)

        # From the widget's footer to the portal, in the same browser.
        visitor.click("text=Privacy")  # opens the notice in a new tab: read it there
        visitor.goto(f"{base}/privacy/requests/new/")
        visitor.check("input[value=deletion]")
        visitor.fill("#id_email", address)
        visitor.click("main button[type=submit]")
        expect(visitor.locator("h1")).to_have_text("Check your inbox")

        verify = _mail_link(mail_dir, r"http://confidant\.test(/privacy/requests/[0-9a-f-]+/verify/\S+/)")
        visitor.goto(base + verify)
        visitor.click("main button[type=submit]")
        expect(visitor.locator("#request-status")).to_have_text("Received")

        officer = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        staff_sign_in(officer, base, "pat", officer_key)
        expect(officer.locator("h1")).to_have_text("Data requests")
        officer.click("#open-requests tbody tr a")
        expect(officer.locator("#inventory")).to_contain_text("Messages")
        assert said[0] not in officer.content() and address not in officer.content()
        officer.click("button[value=approve]")
        expect(officer.locator(".flash")).to_contain_text("Approved")

        # The status page the visitor landed on is bookmarkable: it outlives the session the
        # deletion ends. Reloaded until the worker is done.
        for _ in range(120):
            visitor.reload()
            if visitor.locator("#request-status").inner_text() == "Done":
                break
            visitor.wait_for_timeout(500)
        expect(visitor.locator("#request-status")).to_have_text("Done")
        expect(visitor.locator("main")).to_contain_text("We keep only a record that this deletion happened")
        expect(visitor.locator("main")).to_contain_text("1 conversation")
        assert _mail_link(mail_dir, r"(has been carried out)")

    request = DataRequest.objects.get()
    assert request.status == DataRequest.Status.DONE and request.counts["conversations"] == 1
    assert request.counts["messages"] >= 3 and request.counts["sessions"] == 1
    assert not Conversation.objects.exists() and not RequestDetails.objects.exists()
    record = DeletionRecord.objects.get(request_id=request.pk)
    assert record.email_index == blind_index("email", address) and record.completed_at

    stores = {
        "main database": _dump("default"),
        "keys database": _dump("keys"),
        "Redis": _redis_bytes(),
        "media": b"\n".join(p.read_bytes() for p in media.rglob("*") if p.is_file()),
    }
    for value in [*said, address]:
        for store, content in stores.items():
            for form in _forms(value):
                assert form not in content, f"{value!r} left in {store}"
