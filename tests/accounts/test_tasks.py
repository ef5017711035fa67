from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.tasks import sessions_clear_expired
from chatbot_site.celery import app

pytestmark = pytest.mark.django_db


def test_expired_sessions_are_cleared_and_live_ones_kept() -> None:
    live, expired = SessionStore(), SessionStore()
    live.create()
    expired.create()
    Session.objects.filter(session_key=expired.session_key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    assert sessions_clear_expired.apply().get() == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]


def test_the_task_is_on_the_beat_schedule() -> None:
    entry = app.conf.beat_schedule["sessions-clear-expired"]
    assert entry["task"] == sessions_clear_expired.name
