"""The alert rules fire at their thresholds and not below, once per rule, subject and window; an
alert is stored, e-mailed to the privacy officers and shown on the supervisors' pages."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from accounts import services as account_services
from accounts.models import User
from audit.actions import Action, Outcome
from audit.context import client
from audit.models import Entry
from audit.services import record
from privacy.models import Alert
from privacy.oversight import alerts as alert_services
from tests.auth import reauthenticated, signed_in_client
from tests.privacy.oversight import csv_body

pytestmark = pytest.mark.django_db
Rule = Alert.Rule


@pytest.fixture(autouse=True)
def _thresholds(settings: Any) -> None:
    settings.AUDIT_ALERT_TRANSCRIPTS_PER_HOUR = 3
    settings.AUDIT_ALERT_FAILED_SIGNINS = 3
    settings.AUDIT_ALERT_EXPORTS_PER_HOUR = 2
    settings.AUDIT_WORKING_HOURS = None  # the off-hours rule is tested on its own, whatever the time now


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Record as a service does: the rules run once the entry's transaction commits."""

    def run(*args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return record(*args, **kwargs)

    return run


def _alerts(rule: str) -> list[Alert]:
    return list(Alert.objects.filter(rule=rule).order_by("pk"))


# --- the rules, at their thresholds and one below -------------------------------------------------
def test_transcripts_opened_alert_past_the_hourly_limit(committed: Any, agent: Any, other_agent: Any) -> None:
    for n in range(3):
        committed(Action.TRANSCRIPT_OPENED, actor=agent, obj=("conversation", f"c{n}"))
    committed(Action.TRANSCRIPT_OPENED, actor=agent, obj=("conversation", "c0"))  # the same one again
    committed(Action.TRANSCRIPT_OPENED, actor=other_agent, obj=("conversation", "c9"))
    committed(Action.TRANSCRIPT_OPENED, actor=agent, obj=("conversation", "c8"), outcome=Outcome.DENIED)
    assert _alerts(Rule.TRANSCRIPTS) == []  # 3 different transcripts: at the limit, not past it
    fourth = committed(Action.TRANSCRIPT_OPENED, actor=agent, obj=("conversation", "c3"))
    [alert] = _alerts(Rule.TRANSCRIPTS)
    assert (alert.subject_user_id, alert.count, alert.window_end) == (agent.pk, 4, fourth.at)
    assert alert.window_end - alert.window_start == dt.timedelta(hours=1)
    assert fourth.seq in alert.entry_seqs and len(alert.entry_seqs) == 5


def test_opens_older_than_an_hour_do_not_count(committed: Any, agent: Any) -> None:
    from tests.privacy.oversight import entries_bulk

    entries_bulk(5, actor=agent, at=timezone.now() - dt.timedelta(hours=1, minutes=1))
    committed(Action.TRANSCRIPT_OPENED, actor=agent, obj=("conversation", "new"))
    assert _alerts(Rule.TRANSCRIPTS) == []


def _hours_around_now(*, inside: bool) -> tuple[dt.time, dt.time]:
    now = timezone.localtime()
    if inside:
        return (now - dt.timedelta(minutes=30)).time(), (now + dt.timedelta(minutes=30)).time()
    return (now + dt.timedelta(hours=1)).time(), (now + dt.timedelta(hours=2)).time()


def test_staff_reads_outside_working_hours_alert(committed: Any, settings: Any, agent: Any, customer: Any) -> None:
    settings.AUDIT_WORKING_DAYS = frozenset(range(7))
    settings.AUDIT_WORKING_HOURS = _hours_around_now(inside=True)
    committed(Action.TRANSCRIPT_OPENED, actor=agent, obj=("conversation", "c1"))
    assert _alerts(Rule.OFF_HOURS) == []
    settings.AUDIT_WORKING_HOURS = _hours_around_now(inside=False)
    committed(Action.EXPORT_DOWNLOADED, actor=customer)  # a customer's own data: no staff read
    committed(Action.CONVERSATION_CLAIMED, actor=agent, obj=("conversation", "c1"))  # not a read
    committed(Action.TRANSCRIPT_OPENED, obj=("conversation", "c1"))  # a job
    assert _alerts(Rule.OFF_HOURS) == []
    read = committed(Action.NOTE_READ, actor=agent, obj=("conversation", "c1"))
    [alert] = _alerts(Rule.OFF_HOURS)
    assert (alert.subject_user_id, alert.entry_seqs) == (agent.pk, [read.seq])


def test_working_days_count_too(committed: Any, settings: Any, agent: Any) -> None:
    settings.AUDIT_WORKING_HOURS = _hours_around_now(inside=True)
    settings.AUDIT_WORKING_DAYS = frozenset(range(7)) - {timezone.localtime().weekday()}
    committed(Action.TRANSCRIPT_OPENED, actor=agent, obj=("conversation", "c1"))
    assert len(_alerts(Rule.OFF_HOURS)) == 1


def test_failed_signins_on_one_account_alert_at_the_limit(committed: Any, customer: Any) -> None:
    for n in range(2):
        with client(f"198.51.100.{n}"):
            committed(Action.SIGNIN_FAILED, obj=customer, outcome=Outcome.FAILED)
    assert _alerts(Rule.FAILED_SIGNINS_ACCOUNT) == []
    with client("198.51.100.9"):
        committed(Action.SECOND_FACTOR_FAILED, actor=customer, outcome=Outcome.FAILED)
    [alert] = _alerts(Rule.FAILED_SIGNINS_ACCOUNT)
    assert (alert.subject_user_id, alert.count) == (customer.pk, 3)
    assert alert.window_end - alert.window_start == dt.timedelta(minutes=15)
    assert _alerts(Rule.FAILED_SIGNINS_ADDRESS) == []  # three addresses, one failure each


def test_failed_signins_from_one_address_alert_at_the_limit(committed: Any, customer: Any, agent: Any) -> None:
    with client("203.0.113.50"):
        committed(Action.SIGNIN_FAILED, obj=customer, outcome=Outcome.FAILED)
        committed(Action.SIGNIN_FAILED, obj=agent, outcome=Outcome.FAILED)
        assert _alerts(Rule.FAILED_SIGNINS_ADDRESS) == []
        committed(Action.SIGNIN_FAILED, outcome=Outcome.FAILED, details={"username_index": "ab" * 32})
    [alert] = _alerts(Rule.FAILED_SIGNINS_ADDRESS)
    assert (alert.subject_user_id, alert.subject_address, alert.count) == (None, "203.0.113.50", 3)


def test_a_burst_of_exports_alerts_past_the_hourly_limit(committed: Any, supervisor: Any, agent: Any) -> None:
    committed(Action.TRANSCRIPT_EXPORTED, actor=supervisor, obj=("conversation", "c1"))
    committed(Action.TRAIL_EXPORTED, actor=supervisor)
    committed(Action.TRAIL_EXPORTED, actor=agent)
    assert _alerts(Rule.EXPORTS) == []
    committed(Action.TRANSCRIPT_EXPORTED, actor=supervisor, obj=("conversation", "c2"))
    [alert] = _alerts(Rule.EXPORTS)
    assert (alert.subject_user_id, alert.count) == (supervisor.pk, 3)


def test_exporting_the_trail_itself_counts(
    supervisor: Any, django_capture_on_commit_callbacks: Any, eager_tasks: None
) -> None:
    staff = reauthenticated(signed_in_client(supervisor))
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            csv_body(staff.get("/privacy/trail/export/"))
    [alert] = _alerts(Rule.EXPORTS)
    assert alert.subject_user_id == supervisor.pk


def test_privileged_roles_and_admin_rights_always_alert(
    superuser: Any, customer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    def change(**fields: Any) -> None:
        """As the admin's user form saves it (accounts.services records what changed)."""
        with django_capture_on_commit_callbacks(execute=True):
            before = account_services.access_state(customer)
            for name, value in fields.items():
                setattr(customer, name, value)
            customer.save()
            account_services.access_changes_record(user=customer, before=before, by=superuser)

    change(role="agent")
    change(is_active=False)
    change(is_active=True)
    assert _alerts(Rule.PRIVILEGED_ROLE) == []
    change(role="supervisor")
    change(role="privacy_officer")
    change(is_staff=True)
    change(is_superuser=True)
    change(is_superuser=False, is_staff=False)  # taking rights away alerts nobody
    raised = _alerts(Rule.PRIVILEGED_ROLE)
    assert len(raised) == 4 and {a.subject_user_id for a in raised} == {customer.pk}
    with django_capture_on_commit_callbacks(execute=True):
        record(
            Action.RIGHTS_CHANGED, actor=superuser, obj=customer, details={"permissions_added": "accounts.view_user"}
        )
    assert len(_alerts(Rule.PRIVILEGED_ROLE)) == 5


# --- once per rule, subject and window ------------------------------------------------------------
def test_an_alert_is_not_raised_again_within_its_window(committed: Any, agent: Any, other_agent: Any) -> None:
    for n in range(6):
        committed(Action.TRANSCRIPT_OPENED, actor=agent, obj=("conversation", f"c{n}"))
    assert len(_alerts(Rule.TRANSCRIPTS)) == 1
    for n in range(4):
        committed(Action.TRANSCRIPT_OPENED, actor=other_agent, obj=("conversation", f"c{n}"))
    assert len(_alerts(Rule.TRANSCRIPTS)) == 2  # another subject
    Alert.objects.filter(subject_user_id=agent.pk).update(created_at=timezone.now() - dt.timedelta(minutes=61))
    committed(Action.TRANSCRIPT_OPENED, actor=agent, obj=("conversation", "c7"))
    assert len(_alerts(Rule.TRANSCRIPTS)) == 3  # the window has passed


# --- e-mail ---------------------------------------------------------------------------------------
def test_the_privacy_officers_are_emailed_once_without_personal_values(
    committed: Any, eager_tasks: None, privacy_officer: Any, agent: Any, supervisor: Any
) -> None:
    privacy_officer.email = "pat@example.com"
    privacy_officer.save()
    User.objects.create(username="former", role=User.Role.PRIVACY_OFFICER, email="gone@example.com", is_active=False)
    supervisor.email = "morgan@example.com"
    supervisor.save()
    with client("192.0.2.44"):
        for n in range(4):
            committed(Action.TRANSCRIPT_OPENED, actor=agent, obj=("conversation", f"c{n}"))
    [alert] = _alerts(Rule.TRANSCRIPTS)
    [message] = mail.outbox
    assert message.to == ["pat@example.com"]
    assert "Many transcripts opened in an hour" in message.subject + message.body
    assert f"http://testserver/privacy/alerts/{alert.pk}/" in message.body
    assert "agent" not in message.body.lower() and "192.0.2.44" not in message.body and "c1" not in message.body
    assert alert_services.alert_mail_send(alert_id=alert.pk) == 0  # a second run sends nothing
    assert len(mail.outbox) == 1


# --- the pages --------------------------------------------------------------------------------------
def test_open_alerts_are_listed_counted_in_the_header_and_acknowledged(
    committed: Any, supervisor: Any, agent: Any, privacy_officer: Any
) -> None:
    for n in range(4):
        committed(Action.TRANSCRIPT_OPENED, actor=agent, obj=("conversation", f"c{n}"))
    [alert] = _alerts(Rule.TRANSCRIPTS)
    staff = signed_in_client(supervisor)
    console = staff.get("/console/").content.decode()
    assert re.search(r'id="nav-alerts">Alerts <span class="badge badge-alert">1<', console)
    listing = staff.get("/privacy/alerts/").content.decode()
    assert f'href="/privacy/alerts/{alert.pk}/"' in listing and "agent (Agent)" in listing
    detail = staff.get(f"/privacy/alerts/{alert.pk}/").content.decode()
    assert all(f'data-seq="{seq}"' in detail for seq in alert.entry_seqs)
    assert b"badge-alert" in signed_in_client(privacy_officer).get("/privacy/officer/").content

    assert staff.post(f"/privacy/alerts/{alert.pk}/acknowledge/").status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == supervisor and alert.acknowledged_at is not None
    assert b"badge-alert" not in staff.get("/console/").content
    assert "Recently acknowledged" in staff.get("/privacy/alerts/").content.decode()


def test_agents_cannot_see_or_acknowledge_alerts(committed: Any, agent: Any, customer: Any) -> None:
    for n in range(4):
        committed(Action.TRANSCRIPT_OPENED, actor=agent, obj=("conversation", f"c{n}"))
    [alert] = _alerts(Rule.TRANSCRIPTS)
    for who in (agent, customer):
        staff = signed_in_client(who)
        assert staff.get(f"/privacy/alerts/{alert.pk}/").status_code == 403
        assert staff.post(f"/privacy/alerts/{alert.pk}/acknowledge/").status_code == 403
        assert b"badge-alert" not in staff.get("/accounts/").content
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_a_missing_alert_is_404(supervisor: Any) -> None:
    assert signed_in_client(supervisor).get("/privacy/alerts/999999/").status_code == 404


def test_an_alert_about_oneself_is_acknowledged_by_someone_else(
    committed: Any, supervisor: Any, privacy_officer: Any
) -> None:
    for n in range(6):
        committed(Action.TRANSCRIPT_OPENED, actor=supervisor, obj=("conversation", f"c{n}"))
    [alert] = _alerts(Rule.TRANSCRIPTS)
    own = signed_in_client(supervisor)
    assert "acknowledges it" in own.get(f"/privacy/alerts/{alert.pk}/").content.decode()
    own.post(f"/privacy/alerts/{alert.pk}/acknowledge/")
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    signed_in_client(privacy_officer).post(f"/privacy/alerts/{alert.pk}/acknowledge/")
    alert.refresh_from_db()
    assert alert.acknowledged_by == privacy_officer
    [entry] = Entry.objects.filter(action=Action.ALERT_ACKNOWLEDGED)
    assert (entry.actor_id, entry.object_type, entry.object_id) == (privacy_officer.pk, "alert", str(alert.pk))


def test_who_granted_the_rights_does_not_acknowledge_the_alert_they_raised(
    superuser: Any, customer: Any, privacy_officer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        before = account_services.access_state(customer)
        customer.is_superuser = True
        customer.save()
        account_services.access_changes_record(user=customer, before=before, by=superuser)
    [alert] = _alerts(Rule.PRIVILEGED_ROLE)
    granter = signed_in_client(superuser)
    assert "raised by what you did" in granter.get(f"/privacy/alerts/{alert.pk}/").content.decode()
    granter.post(f"/privacy/alerts/{alert.pk}/acknowledge/")
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    signed_in_client(privacy_officer).post(f"/privacy/alerts/{alert.pk}/acknowledge/")
    alert.refresh_from_db()
    assert alert.acknowledged_by == privacy_officer
