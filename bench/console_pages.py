"""What the console benches share (bench/console.py, dashboard.py, audit.py): a staff client past
the second factor, timing a page with its query count, and deleting the conversations a bench
generated. Import after django.setup()."""

from __future__ import annotations

import statistics
import time
from typing import Any

from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_otp import DEVICE_ID_SESSION_KEY

from accounts import services as account_services
from accounts.models import AuthenticatorDevice, User
from conversations import deletion
from conversations.models import Conversation
from vault.datakeys import data_keys_destroy


def staff_client(user: User) -> Client:
    """Signed in, second factor passed (as tests.auth.signed_in_client does)."""
    client = Client()
    client.force_login(user)
    account_services.session_record(user=user, session_key=client.session.session_key)
    device = AuthenticatorDevice.objects.filter(user=user, confirmed=True).first()
    device = device or AuthenticatorDevice.objects.create(user=user, name="bench", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def measure(fn: Any, rounds: int) -> tuple[float, float, int]:
    """Median and slowest time of `fn` over `rounds` (after one warm-up), and its query count."""
    fn()  # warm up: templates, connection, plans
    times, queries = [], 0
    for _ in range(rounds):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        queries = len(captured)
    return statistics.median(times), max(times), queries


def trim(tag: str, keep: int) -> None:
    """Delete the conversations generated with notice_version `tag` (and their data keys) until
    `keep` are left."""
    generated = Conversation.objects.filter(notice_version=tag)
    while (extra := generated.count() - keep) > 0:
        ids = list(generated.values_list("id", "data_key_id")[: min(extra, 5000)])
        with transaction.atomic():
            deletion.conversations_delete(ids=[pk for pk, _ in ids], reason=deletion.RETENTION)
        data_keys_destroy([key for _, key in ids])
