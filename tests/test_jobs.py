"""Services queue tasks by name (chatbot_site.jobs): every name they use must be a registered task,
and every task the beat schedule names too."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

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


@pytest.mark.django_db
def test_tasks_queued_under_their_old_names_still_run(eager_tasks: None) -> None:
    """A task queued by the release before an upgrade runs the same step under its old name."""
    registered = _registered()
    for old, new in (
        ("privacy.tasks.data_request_send_verification", "privacy.tasks.verification_send"),
        ("privacy.tasks.deletion_denied_notify", "privacy.tasks.denial_send"),
    ):
        assert old in registered and app.tasks[old].name == old
        # The same step: for a request that does not exist, the same answer, and no error.
        unknown = str(uuid.uuid4())
        assert app.tasks[old].delay(unknown).get() == app.tasks[new].delay(unknown).get()
    assert "privacy.tasks.data_keys_collect_orphans" in registered
