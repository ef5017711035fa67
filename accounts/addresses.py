"""E-mail addresses of accounts: signing up (the account waits, inactive, until its address is
confirmed from an e-mailed link), changing an address, and forgetting what nobody confirmed. Every
answer is the same whether or not another account uses the username or the address: only the
e-mail, which the address's owner alone reads, differs."""

from __future__ import annotations

import base64
import datetime as dt
import json

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.services import access_changes_record, access_state, account_erase
from chatbot_site import mail
from chatbot_site.jobs import enqueue_on_commit
from chatbot_site.links import LinkRefused, link_open, link_token
from vault.blind import blind_index, normalize_email
from vault.datakeys import DataKeyMissing, data_key_create, data_keys_destroy
from vault.envelope import decrypt, encrypt_for, key_id_of
from vault.keyring import DECRYPT_ERRORS


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
        before = access_state(user)
        if awaiting_activation(user):
            user.is_active = True
            fields.append("is_active")
        user.email, user.pending_email, user.pending_email_at = user.pending_email, "", None
        try:
            with transaction.atomic():
                user.save(update_fields=fields)
        except IntegrityError as exc:  # another account confirmed it first
            raise EmailLinkRefused("taken") from exc
        # The mailbox's owner activated their own sign-up: they are the actor.
        access_changes_record(user=user, before=before, by=user)
    return user
