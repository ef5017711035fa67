"""State changes of accounts and their sessions."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import roles
from accounts.backends import user_by_email
from accounts.models import User, UserSession
from accounts.network import lockout_username
from audit.actions import Action, Outcome
from audit.services import record
from chatbot_site.realtime import group_send_on_commit
from vault.blind import blind_index

if TYPE_CHECKING:
    from django.http import HttpRequest


def user_group(user_id: int) -> str:
    """Every socket of a signed-in user listens here."""
    return f"user.{user_id}"


def session_group(session_key: str) -> str:
    """Every socket opened with this session listens here (the key itself never leaves the server)."""
    return "sess." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def _close_sockets_on_commit(group: str) -> None:
    group_send_on_commit(group, {"type": "session.ended"})


def session_sockets_close(*, session_key: str) -> None:
    """Close the sockets opened with this session once the transaction commits (its chat is gone)."""
    _close_sockets_on_commit(session_group(session_key))


def sessions_clear_expired() -> int:
    """Delete expired sessions (they hold which conversation a visitor's browser owns)."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    UserSession.objects.exclude(session_key__in=Session.objects.values("session_key")).delete()
    return deleted


def failed_sign_ins_clear_expired() -> int:
    """Forget failed sign-in records (address, browser) once their lockout cool-off is over."""
    cutoff = timezone.now() - settings.AXES_COOLOFF_TIME
    deleted, _ = AccessAttempt.objects.filter(attempt_time__lt=cutoff).delete()
    AccessFailureLog.objects.filter(attempt_time__lt=cutoff).delete()
    return deleted


def session_record(*, user: User, session_key: str) -> None:
    """Remember that this session is the user's (call after sign-in and after a key rotation)."""
    UserSession.objects.update_or_create(session_key=session_key, defaults={"user": user})


TOUCH_EVERY = dt.timedelta(seconds=60)


def _staff_session_cutoffs(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """A staff session is alive if last seen after the first and begun after the second."""
    return (
        now - dt.timedelta(seconds=settings.STAFF_IDLE_TIMEOUT),
        now - dt.timedelta(seconds=settings.STAFF_SESSION_LIFETIME),
    )


def staff_session_touch(*, user: User, session_key: str | None) -> bool:
    """Keep a staff session going while it may: one past its idle timeout or absolute lifetime is
    ended (its sockets closed); one within them is marked as seen (at most once a minute). True
    while the session lives."""
    if not session_key:
        return False
    now = timezone.now()
    row = UserSession.objects.filter(session_key=session_key, user=user).first()
    if row is None:
        # Index a live session we did not see begin; never revive one that has ended.
        if not Session.objects.filter(session_key=session_key, expire_date__gt=now).exists():
            return False
        session_record(user=user, session_key=session_key)
        return True
    seen_after, begun_after = _staff_session_cutoffs(now)
    if row.last_seen < seen_after or row.created_at < begun_after:
        sessions_end_keys(session_keys=[session_key])
        return False
    if now - row.last_seen > TOUCH_EVERY:
        UserSession.objects.filter(pk=row.pk).update(last_seen=now)
    return True


def sessions_end_inactive_staff(*, now: dt.datetime | None = None) -> int:
    """End staff sessions past their idle timeout or lifetime (so their open sockets close too,
    not only their next page load). Run every minute by beat."""
    seen_after, begun_after = _staff_session_cutoffs(now or timezone.now())
    stale = UserSession.objects.filter(
        Q(last_seen__lt=seen_after) | Q(created_at__lt=begun_after),
        roles.staff_q("user__"),
    )
    keys = list(stale.values_list("session_key", flat=True))
    sessions_end_keys(session_keys=keys)
    return len(keys)


def sessions_end_keys(*, session_keys: list[str]) -> int:
    """End these sessions (django_session rows and their index) and close their sockets once the
    transaction commits, whether or not a row was left. Returns how many sessions were deleted."""
    with transaction.atomic():
        deleted = Session.objects.filter(session_key__in=session_keys).delete()[0]
        UserSession.objects.filter(session_key__in=session_keys).delete()
        for key in session_keys:
            _close_sockets_on_commit(session_group(key))
    return deleted


def session_rotate(*, request: HttpRequest) -> None:
    """Give the request's session a new key (fixation defence), keeping the user's index true."""
    old = request.session.session_key
    request.session.cycle_key()
    session_moved(request=request, old_key=old)


def session_moved(*, request: HttpRequest, old_key: str | None) -> None:
    """The request's session got a new key (ours, or Django's after a password change): move its
    index row, keeping when it began, so the absolute lifetime still counts from sign-in."""
    new_key = request.session.session_key
    if not request.user.is_authenticated or not new_key or new_key == old_key:
        return
    with transaction.atomic():
        moved = UserSession.objects.filter(session_key=old_key or "", user=request.user).update(session_key=new_key)
        if not moved:
            session_record(user=request.user, session_key=new_key)


def sessions_end(*, user: User, keep_session_key: str | None = None) -> int:
    """End the user's sessions everywhere (all, or all but `keep_session_key`) and close their
    sockets on every ASGI process. Returns how many sessions ended."""
    with transaction.atomic():
        keys = list(
            UserSession.objects.filter(user=user)
            .exclude(session_key=keep_session_key or "")
            .values_list("session_key", flat=True)
        )
        sessions_end_keys(session_keys=keys)
        if keep_session_key is None:
            # Also sockets whose session was never indexed (or has already gone).
            _close_sockets_on_commit(user_group(user.pk))
    return len(keys)


def account_erase(*, user: User) -> dict[str, int]:
    """Erase an account: its failed sign-in records (django-axes, under its username and address),
    its browser sessions, and the user row, which takes with it (by cascade) its two-step devices,
    backup codes, MFA failure records and session index; its data key is destroyed once the
    transaction commits (vault.fields), and its sockets are closed then. Call inside the caller's
    transaction, after whatever must outlive the account has been unlinked from it. Returns the
    counts "failed_sign_ins", "accounts" and "sessions"."""
    with transaction.atomic():
        session_keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
        names = {user.username}
        if user.email:
            names.add(lockout_username(None, {"username": user.email}))
        failed_sign_ins = AccessAttempt.objects.filter(username__in=names).delete()[0]
        AccessFailureLog.objects.filter(username__in=names).delete()
        user_id = user.pk
        user.delete()
        sessions = Session.objects.filter(session_key__in=session_keys).delete()[0]
        for key in session_keys:
            _close_sockets_on_commit(session_group(key))
        _close_sockets_on_commit(user_group(user_id))
    return {"failed_sign_ins": failed_sign_ins, "accounts": 1, "sessions": sessions}


def user_access_change(*, user: User, fields: set[str]) -> None:
    """After a change to what a user may do (role, active, superuser, staff): their sessions end,
    so nothing granted under the old rights outlives the change."""
    if fields & {"role", "is_active", "is_superuser", "is_staff", "groups", "user_permissions", "password"}:
        sessions_end(user=user)


def staff_create(*, username: str, role: str, password: str, first_name: str = "", by: User | None = None) -> User:
    """A staff account. Supervisors also get the admin, to edit the knowledge base. They set up
    two-step sign-in at their first sign-in. `by`: who made it (None: the command line). The role
    and rights given are recorded in the audit trail."""
    from django.contrib.auth.models import Permission

    User.username_validator(username)
    with transaction.atomic():
        user = User(username=username, role=role, first_name=first_name, is_staff=role == User.Role.SUPERVISOR)
        user.set_password(password)
        user.save()
        if user.is_staff:
            user.user_permissions.set(
                Permission.objects.filter(
                    content_type__app_label="conversations", codename__endswith="knowledgearticle"
                )
            )
        access_changes_record(user=user, before=None, by=by)
    return user


# --- who may do what, in the audit trail ---------------------------------------------------------
ACCESS_FIELDS = ("role", "is_staff", "is_superuser", "is_active")
_NEW_ACCOUNT = {"role": "", "is_staff": False, "is_superuser": False, "is_active": True}


def access_state(user: User) -> dict[str, object]:
    """The stored role and flags of an existing account (the `before` of access_changes_record)."""
    return User.objects.filter(pk=user.pk).values(*ACCESS_FIELDS).get()


def access_changes_record(*, user: User, before: dict[str, object] | None, by: User | None) -> None:
    """Record what changed in `user`'s role (ROLE_CHANGED), admin rights (RIGHTS_CHANGED: is_staff,
    is_superuser) and active flag (ACTIVE_CHANGED) since `before` (access_state() read before the
    change; None for a new account), `by` whom. Call last, inside the transaction that saved it."""
    before = {**_NEW_ACCOUNT, "is_active": user.is_active} if before is None else before
    if before["role"] != user.role:
        record(Action.ROLE_CHANGED, actor=by, obj=user, details={"from": before["role"], "to": user.role})
    rights = {}
    for flag in ("is_staff", "is_superuser"):
        if before[flag] != getattr(user, flag):
            rights |= {f"{flag}_from": before[flag], f"{flag}_to": getattr(user, flag)}
    if rights:
        record(Action.RIGHTS_CHANGED, actor=by, obj=user, details=rights)
    if before["is_active"] != user.is_active:
        record(Action.ACTIVE_CHANGED, actor=by, obj=user, details={"from": before["is_active"], "to": user.is_active})


def user_save_by_admin(*, user: User, changed: set[str], by: User, created: bool) -> None:
    """The admin's user form saves `user` (the whole row, as the admin always has: `changed` is the
    form's changed_data), records changes to who may do what, and, after a change to them, ends
    the user's sessions (user_access_change)."""
    with transaction.atomic():
        before = None if created else access_state(user)
        user.save()
        access_changes_record(user=user, before=before, by=by)
    if not created:
        user_access_change(user=user, fields=changed)


def user_password_set_by_admin(*, user: User, by: User, keep_session_key: str | None) -> None:
    """The admin's password form has just set `user`'s password, or turned password sign-in off
    (Django's AdminPasswordChangeForm saved it: call inside the transaction that did): record
    PASSWORD_SET (nothing about the password) and end their sessions everywhere but
    `keep_session_key` (the administrator's own, when they set their own password)."""
    with transaction.atomic():
        sessions_end(user=user, keep_session_key=keep_session_key)
        record(Action.PASSWORD_SET, actor=by, obj=user)


class HeldConversations(Exception):
    """An account to delete has conversations on legal hold, which deleting it would take along."""


def users_holding(users: Iterable[User]) -> list[str]:
    """The usernames, among `users`, of accounts with a conversation on legal hold."""
    ids = [user.pk for user in users]
    return list(
        User.objects.filter(pk__in=ids, conversations__legal_hold=True).distinct().values_list("username", flat=True)
    )


def users_delete_by_admin(*, users: Iterable[User], by: User) -> int:
    """Delete these accounts from the admin (its confirmation page listed what goes with them),
    each as account_erase erases one (sessions ended, sockets closed, failed sign-ins forgotten),
    and record each as USER_DELETED, in one transaction. A customer's own deletion is not this:
    privacy's data requests record it as REQUEST_EXECUTED, and keep conversations on legal hold.
    Here an account with a held conversation is refused (HeldConversations: its conversations
    would go with it); nothing is deleted then. Returns how many went."""
    users = list(users)
    if held := users_holding(users):
        raise HeldConversations(", ".join(held))
    with transaction.atomic():
        deleted = []
        for user in users:
            deleted.append(user.pk)
            account_erase(user=user)
        for user_id in deleted:
            record(Action.USER_DELETED, actor=by, obj=("user", user_id))
    return len(deleted)


# --- signing in, in the audit trail ------------------------------------------------------------
def _account_typed(identifier: str) -> User | None:
    """The account a typed username or e-mail address names, as sign-in finds it."""
    if "@" in identifier:
        return user_by_email(identifier) or User.objects.filter(username=identifier).first()
    return User.objects.filter(username=identifier).first()


def _typed_details(identifier: str, account: User | None) -> dict[str, object]:
    """How a sign-in named its account, without the name: the account itself is the entry's
    object; a name no account has is kept as its blind index only (to see one guessed often)."""
    details: dict[str, object] = {"by": "email" if "@" in identifier else "username"}
    if account is None:
        details["typed_index"] = blind_index("email", identifier) or ""
    return details


def sign_in_complete(*, user: User, session_key: str | None) -> None:
    """The password was right and the session is the user's: index it, and record the sign-in
    (staff still owe their second factor)."""
    with transaction.atomic():
        if session_key:
            session_record(user=user, session_key=session_key)
        record(Action.SIGNIN_SUCCEEDED, actor=user, obj=user, details={"second_factor_due": roles.is_staff(user)})


def sign_in_failed(*, identifier: str, step: str, refused_while_locked: bool) -> None:
    """A wrong password (or one refused because the name is locked out from this address) at
    `step` ("sign_in" or "reauth"): recorded against the account it names, if any."""
    account = _account_typed(identifier)
    record(
        Action.SIGNIN_FAILED,
        obj=account,
        outcome=Outcome.DENIED if refused_while_locked else Outcome.FAILED,
        details={"step": step, **_typed_details(identifier, account)},
    )


def sign_in_locked_out(*, identifier: str, failures: int) -> None:
    """django-axes has just locked this name out from the client's address (for
    AXES_COOLOFF_TIME) after `failures` wrong passwords."""
    account = _account_typed(identifier)
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    record(
        Action.LOCKED_OUT,
        obj=account,
        details={"failures": failures, "minutes": minutes, **_typed_details(identifier, account)},
    )
