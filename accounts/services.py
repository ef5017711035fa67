"""State changes of accounts and their sessions."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import TYPE_CHECKING

from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.models import Session
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from accounts.models import User, UserSession
from accounts.network import lockout_username
from chatbot_site import mail
from chatbot_site.jobs import enqueue_on_commit
from chatbot_site.links import LinkRefused, link_open, link_token
from chatbot_site.realtime import group_send_on_commit
from vault.blind import blind_index, normalize_email
from vault.datakeys import DataKeyMissing, data_key_create, data_keys_destroy
from vault.envelope import decrypt, encrypt_for, key_id_of
from vault.keyring import DECRYPT_ERRORS

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


def customer_sign_up(*, username: str, password: str, email: str, notify: bool = True) -> None:
    """Start a customer's sign-up, answering nothing: the caller cannot tell whether the username
    (or the address) was free. A free username becomes an inactive account (nobody can sign in to
    it) whose address waits for the activation link (email_confirm); a taken one gets the address
    an e-mail saying so. About the same work is done either way (no shortcut to time): the password
    is hashed, a data key made (the account's, or the refusal's) and one e-mail queued. The role is fixed: nobody signs up as staff.
    `notify=False` sends no e-mail (rate limit)."""
    hashed = make_password(password)
    address = normalize_email(email)
    user = None
    # Taken in any case ("Dana" when "dana" exists), as Django's own sign-up form checks.
    if not User.objects.filter(username__iexact=username).exists():
        try:
            with transaction.atomic():
                user = User(username=username, password=hashed, role=User.Role.CUSTOMER, is_active=False)
                user.pending_email, user.pending_email_at = address, timezone.now()
                user.save()
        except IntegrityError:  # taken a moment ago (the only unique value set here)
            user = None
    if user is None:
        # Only ids go to the broker: the address and username travel encrypted under a data key of
        # their own, destroyed once the e-mail is sent (or collected as an orphan if it never is).
        sealed = encrypt_for(data_key_create(), json.dumps({"u": username, "a": address}))
        if notify:
            enqueue_on_commit("accounts.tasks.sign_up_refusal_send", base64.b64encode(sealed).decode())
        return
    if notify:
        enqueue_on_commit("accounts.tasks.email_confirmation_send", user.pk)


def awaiting_activation(user: User) -> bool:
    """A sign-up whose address (and so the account) nobody has confirmed yet. An account an admin
    deactivated is not one: it has signed in, or has a confirmed address."""
    return (
        not user.is_active
        and user.last_login is None
        and not user.email
        and bool(user.pending_email)
        and user.role == User.Role.CUSTOMER
    )


def sign_up_refusal_send(*, sealed: str) -> bool:
    """Tell the address given at sign-up that the username was not available (or, if the address
    already has an account, that it has one), then crypto-shred what the e-mail was made from."""
    raw = base64.b64decode(sealed)
    try:
        fields = json.loads(decrypt(raw))
    except (DataKeyMissing, *DECRYPT_ERRORS):
        return False  # sent already (the key is destroyed after sending), or damaged
    taken = User.objects.filter(email_index=blind_index("email", fields["a"])).exists()
    body = render_to_string(
        "accounts/email/sign_up_refused.txt",
        {
            "taken": taken,
            "username": fields["u"],
            "business_name": settings.BUSINESS_NAME,
            "sign_in": settings.SITE_URL + reverse("accounts:login"),
            "sign_up": settings.SITE_URL + reverse("accounts:sign_up"),
        },
    )
    sent = mail.send(
        to=fields["a"],
        subject=f"Your sign-up at {settings.BUSINESS_NAME}",
        body=body,
        what="sign-up refusal e-mail",
    )
    data_keys_destroy([key_id_of(raw)])
    return sent


EMAIL_CONFIRM_SALT = "accounts.email.confirm"


class EmailLinkRefused(LinkRefused):
    """A confirmation link that must not be honoured: damaged, expired, used or taken."""


def email_change_start(*, user: User, address: str, notify: bool = True) -> None:
    """Ask the address's owner to confirm it: a link that works once, for
    PRIVACY_VERIFY_LINK_MINUTES. The same is done whether or not another account uses the address;
    only the e-mail, which the address's owner alone reads, differs."""

    user.pending_email, user.pending_email_at = normalize_email(address), timezone.now()
    user.save(update_fields=["pending_email", "pending_email_at"])
    if notify:
        enqueue_on_commit("accounts.tasks.email_confirmation_send", user.pk)


# An unconfirmed address is forgotten once its link has long expired (and the mail retries with it).
PENDING_EMAIL_KEPT = dt.timedelta(hours=8)


def pending_emails_forget(*, now: dt.datetime | None = None) -> int:
    """Forget addresses nobody confirmed: they may not even be the account holder's. A sign-up
    nobody activated goes as soon as its link has expired, freeing the username."""
    now = now or timezone.now()
    link_expired = now - dt.timedelta(minutes=settings.PRIVACY_VERIFY_LINK_MINUTES)
    forgotten = 0
    stale = Q(pending_email_at__lt=link_expired - PENDING_EMAIL_KEPT)
    not_activated = Q(is_active=False, last_login__isnull=True, pending_email_at__lt=link_expired)
    for user in User.objects.filter(stale | not_activated):
        with transaction.atomic():
            # Under the row lock, and only if still stale: an address set meanwhile stays.
            locked = User.objects.select_for_update().filter(pk=user.pk, pending_email_at__lt=link_expired).first()
            if locked is None:
                continue
            if awaiting_activation(locked):
                account_erase(user=locked)
            elif locked.pending_email_at < link_expired - PENDING_EMAIL_KEPT:
                locked.pending_email, locked.pending_email_at = "", None
                locked.save(update_fields=["pending_email", "pending_email_at"])
            else:
                continue
        forgotten += 1
    return forgotten


def _pending_tag(user: User) -> str:

    return (blind_index("email", user.pending_email) or "")[:16]


def email_confirmation_send(*, user_id: int) -> bool:
    """E-mail the confirmation link for the pending address (Celery runs it); if another account
    already uses the address, tell its owner that instead, with no link."""
    user = User.objects.filter(pk=user_id).first()
    if user is None or not user.pending_email:
        return False
    taken = User.objects.filter(email_index=blind_index("email", user.pending_email)).exclude(pk=user.pk).exists()
    token = link_token({"u": user.pk, "a": _pending_tag(user)}, purpose=EMAIL_CONFIRM_SALT)
    link = settings.SITE_URL + reverse("accounts:email_confirm", kwargs={"user_id": user.pk, "token": token})
    body = render_to_string(
        "accounts/email/activate_account.txt" if awaiting_activation(user) else "accounts/email/confirm_address.txt",
        {
            "taken": taken,
            "username": user.username,
            "link": link,
            "minutes": settings.PRIVACY_VERIFY_LINK_MINUTES,
            "business_name": settings.BUSINESS_NAME,
            "sign_in": settings.SITE_URL + reverse("accounts:login"),
        },
    )
    return mail.send(
        to=user.pending_email,
        subject=f"Confirm your e-mail address for {settings.BUSINESS_NAME}",  # the same for a sign-up
        body=body,
        what=f"address confirmation e-mail of user {user.pk}",
    )


def email_link_check(*, user_id: int, token: str) -> User:
    try:
        payload = link_open(token, purpose=EMAIL_CONFIRM_SALT, max_age=settings.PRIVACY_VERIFY_LINK_MINUTES * 60)
    except LinkRefused as exc:
        raise EmailLinkRefused(exc.reason) from exc
    user = User.objects.filter(pk=user_id).first()
    if payload.get("u") != user_id or user is None:
        raise EmailLinkRefused("damaged")
    if not user.pending_email or payload.get("a") != _pending_tag(user):
        raise EmailLinkRefused("used")  # confirmed already, or replaced by a newer address
    return user


def email_confirm(*, user_id: int, token: str) -> User:
    """Honour a confirmation link once: the pending address becomes the account's, and a sign-up
    awaiting activation becomes an active account (call after the caller has checked who may)."""
    with transaction.atomic():
        email_link_check(user_id=user_id, token=token)
        user = User.objects.select_for_update().get(pk=user_id)
        email_link_check(user_id=user_id, token=token)  # again, under the lock: once
        fields = ["email", "pending_email", "pending_email_at"]
        if awaiting_activation(user):
            user.is_active = True
            fields.append("is_active")
        user.email, user.pending_email, user.pending_email_at = user.pending_email, "", None
        try:
            with transaction.atomic():
                user.save(update_fields=fields)
        except IntegrityError as exc:  # another account confirmed it first
            raise EmailLinkRefused("taken") from exc
    return user


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


def staff_create(*, username: str, role: str, password: str, first_name: str = "") -> User:
    """A staff account. Supervisors also get the admin, to edit the knowledge base. They set up
    two-step sign-in at their first sign-in."""
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
    return user
