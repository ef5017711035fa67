"""Second factor (django-otp): TOTP enrollment, hashed backup codes, verification with a daily cap.

Enforcement is not here: accounts.middleware.AccessMiddleware sends staff without a verified
session to enrollment or verification, and the staff sockets ask `factors.session_is_verified()`.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import secrets
from typing import TYPE_CHECKING

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp.models import Device

from accounts.backup_codes import ALPHABET, code_hash, normalize_backup_code
from accounts.models import AuthenticatorDevice, BackupCode, BackupCodeDevice, MfaFailure
from audit.actions import Action, Outcome
from audit.services import record

if TYPE_CHECKING:
    from accounts.models import User

BACKUP_CODE_COUNT = 10


class MfaThrottled(Exception):
    """django-otp's back-off after wrong codes: nothing is checked until it passes."""

    def __init__(self, seconds: int) -> None:
        super().__init__(seconds)
        self.seconds = seconds


class MfaLocked(Exception):
    """Too many failed codes today; verification is refused until tomorrow (or an admin resets)."""


# --- backup codes --------------------------------------------------------------------------
def backup_codes_regenerate(*, user: User) -> list[str]:
    """Replace the user's backup codes with ten new ones (the old set stops working) and return
    them for showing once. Never stored or logged in plaintext."""
    codes = [
        "-".join("".join(secrets.choice(ALPHABET) for _ in range(5)) for _ in range(2))
        for _ in range(BACKUP_CODE_COUNT)
    ]
    with transaction.atomic():
        device, _ = BackupCodeDevice.objects.get_or_create(
            user=user, defaults={"name": "Backup codes", "confirmed": True}
        )
        device.codes.all().delete()
        BackupCode.objects.bulk_create(
            BackupCode(device=device, code_hash=code_hash(normalize_backup_code(c), secrets.token_bytes(16)))
            for c in codes
        )
        record(Action.BACKUP_CODES_MADE, actor=user, obj=user, details={"count": len(codes)})
    return codes


def backup_codes_left(*, user: User) -> int:
    return BackupCode.objects.filter(device__user=user, used_at__isnull=True).count()


# --- TOTP enrollment -----------------------------------------------------------------------
def totp_pending_device(*, user: User) -> AuthenticatorDevice:
    """The unconfirmed authenticator being enrolled (created on first visit)."""
    device = AuthenticatorDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    return device or AuthenticatorDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def totp_secret_text(device: AuthenticatorDevice) -> str:
    """The key as people type it into an authenticator app: base32 in groups of four."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def totp_qr_svg(device: AuthenticatorDevice) -> str:
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


# --- verification --------------------------------------------------------------------------
def _failures_today(user: User) -> int:
    since = timezone.now() - dt.timedelta(days=1)
    return MfaFailure.objects.filter(user=user, at__gte=since).count()


def verify(*, user: User, token: str, devices: list[Device] | None = None, step: str = "verify") -> Device | None:
    """Check a TOTP or backup code against the user's confirmed devices (or the given ones, for
    enrollment). A TOTP code is accepted once only (django-otp keeps the last time step), and a
    backup code once only. Raises MfaLocked after MFA_DAILY_FAILURE_CAP failures in 24 hours.
    A wrong code, or one refused unchecked (capped, throttled), is recorded in the audit trail
    with `step` ("verify", "reauth", "enroll")."""
    token = str(token).strip().replace(" ", "")
    details = {"step": step, "code": "totp" if token.isdigit() else "backup_code"}
    if _failures_today(user) >= settings.MFA_DAILY_FAILURE_CAP:
        record(
            Action.SECOND_FACTOR_FAILED,
            actor=user,
            obj=user,
            outcome=Outcome.DENIED,
            details=details | {"refused": "daily_cap"},
        )
        raise MfaLocked
    with transaction.atomic():
        candidates = (
            devices
            if devices is not None
            else [
                *AuthenticatorDevice.objects.select_for_update().filter(user=user, confirmed=True),
                *BackupCodeDevice.objects.select_for_update().filter(user=user, confirmed=True),
            ]
        )
        candidates = [d for d in candidates if isinstance(d, AuthenticatorDevice) == token.isdigit()]
        waits = [_throttled_for(d) for d in candidates]
        if candidates and all(waits):
            # Every device that could take this code is backing off: say so, and don't count it.
            throttled = MfaThrottled(min(waits))
        else:
            throttled = None
            for device in candidates:
                if device.verify_token(token):
                    return device
    if throttled is not None:
        record(
            Action.SECOND_FACTOR_FAILED,
            actor=user,
            obj=user,
            outcome=Outcome.DENIED,
            details=details | {"refused": "throttled"},
        )
        raise throttled
    with transaction.atomic():
        MfaFailure.objects.create(user=user)
        record(Action.SECOND_FACTOR_FAILED, actor=user, obj=user, outcome=Outcome.FAILED, details=details)
    return None


def _throttled_for(device: Device) -> int:
    """Seconds until django-otp's back-off lets this device check a code (0: now)."""
    allowed, info = device.verify_is_allowed()
    if allowed or not info or "locked_until" not in info:
        return 0
    return max(1, int((info["locked_until"] - timezone.now()).total_seconds()) + 1)


def totp_confirm(*, device: AuthenticatorDevice) -> None:
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        # Any other half-finished enrollment is abandoned.
        AuthenticatorDevice.objects.filter(user=device.user, confirmed=False).delete()
        record(Action.MFA_ENROLLED, actor=device.user, obj=device.user, details={"device": "totp"})


def devices_remove(*, user: User, by: User) -> None:
    """Turn the user's second factor off: every authenticator and backup code goes (`by`: the user
    themselves, or an administrator resetting it so that they enroll again)."""
    with transaction.atomic():
        authenticators = AuthenticatorDevice.objects.filter(user=user).delete()[0]
        BackupCodeDevice.objects.filter(user=user).delete()
        record(Action.MFA_RESET, actor=by, obj=user, details={"authenticators": authenticators})


def authenticator_remove(*, device: AuthenticatorDevice, by: User) -> None:
    """An administrator removes one authenticator of someone's (they enroll it again)."""
    with transaction.atomic():
        user = device.user
        device.delete()
        record(Action.MFA_RESET, actor=by, obj=user, details={"authenticators": 1})
