"""Services queue tasks by name (chatbot_site.jobs): every name they use must be a registered task,
and every task the beat schedule names too."""

from __future__ import annotations

import re
from pathlib import Path

from chatbot_site.celery import app

ROOT = Path(__file__).resolve().parent.parent
APPS = ("vault", "accounts", "conversations", "privacy", "chatbot_site")
TASK_NAME = re.compile(r'"((?:%s)\.tasks\.\w+)"' % "|".join(APPS))


def _registered() -> set[str]:
    app.loader.import_default_modules()
    return set(app.tasks)


def test_every_task_named_in_the_code_is_registered() -> None:
    named = {
        name
        for package in APPS
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
        for name in TASK_NAME.findall(path.read_text())
    }
    assert len(named) >= 10  # the scan itself works
    assert named - _registered() == set()


def test_every_scheduled_task_is_registered() -> None:
    assert {entry["task"] for entry in app.conf.beat_schedule.values()} - _registered() == set()
