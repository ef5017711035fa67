"""The alert rules, run on every audit entry once its transaction commits (the receiver of
audit.services.recorded, connected in privacy.apps). Each is one indexed count over the trail,
and only for the actions it watches. Thresholds are settings (docs/operations.md "Audit alerts")."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from audit.actions import Action, Outcome
from audit.models import Entry
from privacy.models import Alert
from privacy.oversight.alerts import alert_raise, alert_raised_lately

HOUR = dt.timedelta(hours=1)
SIGNIN_WINDOW = dt.timedelta(minutes=15)
# Staff reading personal data (the trail holds client addresses: reading it counts).
READS = frozenset(
    {
        Action.TRANSCRIPT_OPENED,
        Action.CUSTOMER_OPENED,
        Action.HISTORY_SEARCHED,
        Action.NOTE_READ,
        Action.TRANSCRIPT_EXPORTED,
        Action.TRAIL_VIEWED,
        Action.TRAIL_EXPORTED,
    }
)
EXPORTS = frozenset({Action.TRANSCRIPT_EXPORTED, Action.TRAIL_EXPORTED})
FAILED_SIGNINS = frozenset({Action.SIGNIN_FAILED, Action.SECOND_FACTOR_FAILED})
ROLE_CHANGES = frozenset({Action.ROLE_CHANGED, Action.RIGHTS_CHANGED})
# details["to"] of a role or rights change that grants more than an agent has.
PRIVILEGED = frozenset({User.Role.SUPERVISOR.value, User.Role.PRIVACY_OFFICER.value, "superuser", "admin", "staff"})
STAFF_ROLES = frozenset({str(role) for role in User.STAFF_ROLES} | {"superuser"})
_MAX_SEQS = 200  # entries named in one alert (the count says how many there were)


def entry_recorded(sender: Any, entry: Entry, **kwargs: Any) -> None:
    evaluate(entry)


def evaluate(entry: Entry) -> list[Alert]:
    """The alerts this entry raises (after de-duplication)."""
    action = entry.action
    raised = []
    if action == Action.TRANSCRIPT_OPENED:
        raised.append(_transcripts(entry))
    if action in READS:
        raised.append(_off_hours(entry))
    if action in FAILED_SIGNINS:
        raised += [_failed_signins_account(entry), _failed_signins_address(entry)]
    if action in EXPORTS:
        raised.append(_exports(entry))
    if action in ROLE_CHANGES:
        raised.append(_privileged(entry))
    return [alert for alert in raised if alert is not None]


def _in_window(entry: Entry, window: dt.timedelta) -> Q:
    return Q(at__gt=entry.at - window, at__lte=entry.at)


def _over(rows: QuerySet[Any], limit: int) -> bool:
    """Are there more than `limit` `rows`? Reads at most limit + 1 (every entry runs this: its cost
    must not grow with a busy hour)."""
    return rows[: limit + 1].count() > limit


def _raise(
    rule: Alert.Rule, entry: Entry, window: dt.timedelta, matching: Q, counted: QuerySet[Any], **subject: Any
) -> Alert | None:
    """Raise `rule`'s alert about `subject` for the entries `matching`, unless one was raised within
    `window`: checked first, so that past a threshold (a brute force, a burst of reads) each new
    entry costs one indexed lookup, not the full count."""
    if alert_raised_lately(rule=rule, quiet_for=window, **subject):
        return None
    seqs = list(Entry.objects.filter(matching).order_by("-seq").values_list("seq", flat=True)[:_MAX_SEQS])
    return alert_raise(
        rule=rule,
        window_start=entry.at - window,
        window_end=entry.at,
        count=counted.count(),
        seqs=seqs,
        quiet_for=window,
        **subject,
    )


def _transcripts(entry: Entry) -> Alert | None:
    """One person opening more than AUDIT_ALERT_TRANSCRIPTS_PER_HOUR different transcripts."""
    if entry.actor_id is None or entry.outcome != Outcome.OK:
        return None
    limit = settings.AUDIT_ALERT_TRANSCRIPTS_PER_HOUR
    # Every transcript read runs this: in SQL, as the ORM's compiling cost more than the query.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT DISTINCT object_id FROM {Entry._meta.db_table} "  # noqa: S608
            "WHERE actor_id = %s AND action = %s AND outcome = %s AND at > %s AND at <= %s LIMIT %s) AS opened",
            [entry.actor_id, Action.TRANSCRIPT_OPENED.value, Outcome.OK.value, entry.at - HOUR, entry.at, limit + 1],
        )
        if cursor.fetchone()[0] <= limit:
            return None
    matching = Q(actor_id=entry.actor_id, action=Action.TRANSCRIPT_OPENED, outcome=Outcome.OK) & _in_window(entry, HOUR)
    opened = Entry.objects.filter(matching).values("object_id").distinct()
    return _raise(Alert.Rule.TRANSCRIPTS, entry, HOUR, matching, opened, subject_user_id=entry.actor_id)


def within_working_hours(at: dt.datetime) -> bool:
    """Is `at` inside AUDIT_WORKING_HOURS on one of AUDIT_WORKING_DAYS, in the site's time zone?
    Always, when the rule is off."""
    if settings.AUDIT_WORKING_HOURS is None:
        return True
    local = timezone.localtime(at)
    start, end = settings.AUDIT_WORKING_HOURS
    moment = local.time()
    in_hours = start <= moment < end if start < end else (moment >= start or moment < end)
    return in_hours and local.weekday() in settings.AUDIT_WORKING_DAYS


def _off_hours(entry: Entry) -> Alert | None:
    """Staff reading personal data outside working hours (one alert an hour per person)."""
    if entry.actor_id is None or entry.actor_role not in STAFF_ROLES or within_working_hours(entry.at):
        return None
    return alert_raise(
        rule=Alert.Rule.OFF_HOURS,
        subject_user_id=entry.actor_id,
        window_start=entry.at,
        window_end=entry.at,
        count=1,
        seqs=[entry.seq],
        quiet_for=HOUR,
    )


def _account_of(entry: Entry) -> int | None:
    """The account a failed sign-in was on: its object (obj=user), else its actor."""
    if entry.object_type == "user" and entry.object_id.isdigit():
        return int(entry.object_id)
    return entry.actor_id


def _failed_signins_account(entry: Entry) -> Alert | None:
    """AUDIT_ALERT_FAILED_SIGNINS failures on one account within 15 minutes."""
    account = _account_of(entry)
    if account is None:
        return None
    on_account = Q(object_type="user", object_id=str(account)) | Q(actor_id=account)
    matching = on_account & Q(action__in=FAILED_SIGNINS) & _in_window(entry, SIGNIN_WINDOW)
    failures = Entry.objects.filter(matching)
    if not _over(failures, settings.AUDIT_ALERT_FAILED_SIGNINS - 1):
        return None
    return _raise(Alert.Rule.FAILED_SIGNINS_ACCOUNT, entry, SIGNIN_WINDOW, matching, failures, subject_user_id=account)


def _failed_signins_address(entry: Entry) -> Alert | None:
    """AUDIT_ALERT_FAILED_SIGNINS failures from one client address within 15 minutes."""
    if not entry.client_address:
        return None
    matching = Q(client_address=entry.client_address, action__in=FAILED_SIGNINS) & _in_window(entry, SIGNIN_WINDOW)
    failures = Entry.objects.filter(matching)
    if not _over(failures, settings.AUDIT_ALERT_FAILED_SIGNINS - 1):
        return None
    return _raise(
        Alert.Rule.FAILED_SIGNINS_ADDRESS,
        entry,
        SIGNIN_WINDOW,
        matching,
        failures,
        subject_address=entry.client_address,
    )


def _exports(entry: Entry) -> Alert | None:
    """One person exporting more than AUDIT_ALERT_EXPORTS_PER_HOUR times in an hour."""
    if entry.actor_id is None:
        return None
    matching = Q(actor_id=entry.actor_id, action__in=EXPORTS) & _in_window(entry, HOUR)
    exports = Entry.objects.filter(matching)
    if not _over(exports, settings.AUDIT_ALERT_EXPORTS_PER_HOUR):
        return None
    return _raise(Alert.Rule.EXPORTS, entry, HOUR, matching, exports, subject_user_id=entry.actor_id)


def _granted(details: dict[str, Any]) -> bool:
    """Does this role or rights change (as accounts.services records it) give more than an agent
    has: a privileged role, the admin or superuser flag, or groups or permissions added?"""
    if str(details.get("to")) in PRIVILEGED:
        return True
    if details.get("is_staff_to") is True or details.get("is_superuser_to") is True:
        return True
    return bool(details.get("groups_added") or details.get("permissions_added"))


def _privileged(entry: Entry) -> Alert | None:
    """Any grant of a privileged role or of admin rights (every one alerts: no quiet window)."""
    if entry.outcome != Outcome.OK or not _granted(entry.details or {}):
        return None
    subject = int(entry.object_id) if entry.object_type == "user" and entry.object_id.isdigit() else entry.actor_id
    return alert_raise(
        rule=Alert.Rule.PRIVILEGED_ROLE,
        subject_user_id=subject,
        window_start=entry.at,
        window_end=entry.at,
        count=1,
        seqs=[entry.seq],
        quiet_for=dt.timedelta(0),
    )
