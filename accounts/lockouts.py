"""Lifting what stops someone signing in, in the audit trail: django-axes' failed sign-in records
(a lockout of a name from an address) and the second factor's wrong-code records (the daily cap,
accounts.mfa). An administrator deletes them in the admin; each lifting is LOCKOUT_LIFTED."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from axes.models import AccessAttempt
from django.db import transaction

from accounts.models import MfaFailure, User
from audit.actions import Action
from audit.services import record


def mfa_failures_delete(*, failures: Iterable[MfaFailure], by: Any) -> int:
    """Delete these wrong-code records, lifting (or lowering) the daily cap of each user they
    counted against: one LOCKOUT_LIFTED per user, with how many went. Returns how many went."""
    ids = [failure.pk for failure in failures]
    with transaction.atomic():
        rows = MfaFailure.objects.filter(pk__in=ids)
        per_user = Counter(rows.values_list("user_id", flat=True))
        rows.delete()
        for user_id, count in sorted(per_user.items()):
            record(Action.LOCKOUT_LIFTED, actor=by, obj=("user", user_id), details={"failed_codes": count})
    return sum(per_user.values())


def access_attempts_delete(*, attempts: Iterable[AccessAttempt], by: Any) -> int:
    """Delete these failed sign-in records of django-axes: each is the count (or the lockout) of
    one name from one address, and is one LOCKOUT_LIFTED, on the account the name is (axes
    counts under the account's username: accounts.network.lockout_username), else on no one
    (("address", "")): neither the name as typed nor the address goes in. Returns how many went."""
    ids = [attempt.pk for attempt in attempts]
    with transaction.atomic():
        rows = AccessAttempt.objects.filter(pk__in=ids)
        found = list(rows.order_by("pk").values_list("username", "failures_since_start"))
        accounts = dict(
            User.objects.filter(username__in={name for name, _ in found if name}).values_list("username", "pk")
        )
        rows.delete()
        for name, failures in found:
            user_id = accounts.get(name or "")
            obj = ("user", user_id) if user_id is not None else ("address", "")
            record(Action.LOCKOUT_LIFTED, actor=by, obj=obj, details={"attempts": failures})
    return len(found)
