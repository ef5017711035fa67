"""`make run`'s demo data: the audit trail it leaves is what a new user is told to look at."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import User
from audit.selectors import reads_of, trail_verify
from conversations.dashboard import dashboard_figures
from conversations.models import CannedReply, Conversation
from privacy.models import Alert
from tests.auth import signed_in_client

pytestmark = pytest.mark.django_db


def test_the_demo_shows_reads_an_alert_and_an_intact_chain(django_capture_on_commit_callbacks: object) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        call_command("seed_demo", "--force", stdout=StringIO())
    dana = User.objects.get(username="dana")
    conversation = dana.conversations.get()
    roles = {
        role
        for role, _action, _at in reads_of(object_type="conversation", object_ids=[conversation.pk])[
            str(conversation.pk)
        ]
    }
    assert {"agent", "supervisor"} <= roles
    assert Alert.objects.filter(rule=Alert.Rule.PRIVILEGED_ROLE).exists()
    verdict = trail_verify()
    assert verdict.intact and verdict.checked > 5

    morgan = User.objects.get(username="morgan")
    assert "Supervisor" in signed_in_client(morgan).get("/privacy/alerts/").content.decode()
    page = signed_in_client(dana).get("/me/conversations/").content.decode()
    assert "Agent" in page and "Supervisor" in page and "Alex" not in page and "alex" not in page

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        call_command("seed_demo", "--force", stdout=StringIO())  # again: nothing doubled
    assert dana.conversations.count() == 1
    assert set(CannedReply.objects.values_list("owner__username", "shortcut")) == {
        ("alex", "thanks"),
        (None, "freeze"),
        (None, "greet"),
    }
    assert CannedReply.objects.count() == 3
    # Visitors waiting in the console's queue, once.
    assert Conversation.objects.filter(customer=None, state=Conversation.State.WAITING).count() == 2
    queue = signed_in_client(User.objects.get(username="alex")).get("/console/").context["queue"]
    assert [c.state for c in queue] == ["waiting", "waiting"]


def test_the_demo_dashboard_has_a_week_of_history() -> None:
    call_command("seed_demo", "--force", stdout=StringIO())
    board = dashboard_figures(period="7d")
    agents = {row.name: row for row in board.agents}
    assert board.opened > 50 and 0.4 < board.handoff_rate < 0.9
    assert agents["Alex"].resolution.count > 5 and agents["Sam"].resolution.count > 5
    assert agents["Alex"].first_response.median < agents["Sam"].first_response.median
    assert sum(1 for bucket in board.buckets if bucket.opened) >= 6
    page = signed_in_client(User.objects.get(username="morgan")).get("/console/dashboard/?period=7d")
    assert page.status_code == 200 and "Sam" in page.content.decode()
    count = Conversation.objects.count()
    call_command("seed_demo", "--force", stdout=StringIO())  # again: nothing doubled
    assert Conversation.objects.count() == count
