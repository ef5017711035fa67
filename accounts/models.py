from __future__ import annotations

import time
from base64 import b32encode
from binascii import unhexlify
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import models
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP
from django_otp.util import random_hex

from accounts.backup_codes import backup_code_matches, normalize_backup_code
from vault.fields import BlindIndexField, DataKeyDependent, DataKeyOwner, EncryptedCharField, EncryptedEmailField


class HandleValidator(UnicodeUsernameValidator):
    """Usernames are handles: no "@", so an e-mail address never ends up in this plaintext column
    (addresses have their own encrypted field)."""

    regex = r"^[\w.+-]+\Z"
    message = "Enter a valid username: letters, digits and . + - _ only (no @; your e-mail address has its own field)."


class User(DataKeyOwner, AbstractUser):
    """Everyone who signs in. Website visitors chat without an account (see conversations).

    Names and e-mail are encrypted under the user's own data key; the e-mail is found through
    its blind index (`email_index`). The username is a handle the person picks, stored plainly
    (sign-in needs it; the sign-up form says not to use a real name).
    """

    class Role(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        AGENT = "agent", "Agent"
        SUPERVISOR = "supervisor", "Supervisor"
        PRIVACY_OFFICER = "privacy_officer", "Privacy officer"

    # Who is what (staff, console user, customer) is decided in accounts.roles only.
    STAFF_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.PRIVACY_OFFICER})

    username_validator = HandleValidator()
    username = models.CharField(
        "username",
        max_length=150,
        unique=True,
        help_text="Required. 150 characters or fewer. Letters, digits and . + - _ only.",
        validators=[username_validator],
        error_messages={"unique": "A user with that username already exists."},
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CUSTOMER)
    first_name = EncryptedCharField("first name", max_length=150, blank=True, editable=True)
    last_name = EncryptedCharField("last name", max_length=150, blank=True, editable=True)
    email = EncryptedEmailField("email address", max_length=254, blank=True, editable=True)
    email_index = BlindIndexField(source="email", purpose="email", unique=True)
    # An address given at sign-up waits here until its owner confirms it from the link we send
    # (accounts.addresses.email_confirm): `email` only ever holds confirmed addresses (or ones an
    # administrator set), and sign-up never tells whether another account uses an address. A
    # sign-up is an inactive account until that link is opened (accounts.addresses.customer_sign_up).
    pending_email = EncryptedEmailField("address waiting for confirmation", max_length=254, blank=True, editable=False)
    pending_email_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "email" in update_fields:
            kwargs["update_fields"] = {*update_fields, "email_index"}  # the index follows the address
        super().save(*args, **kwargs)


class BackupCodeDevice(ThrottlingMixin, Device):
    """Single-use backup codes as a django-otp device. The codes are stored hashed (scrypt),
    unlike django-otp's static tokens, and shown to the user once, when generated."""

    def verify_token(self, token: str) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        code = normalize_backup_code(token)
        for backup in self.codes.select_for_update().filter(used_at__isnull=True):
            if backup_code_matches(code, backup.code_hash):
                backup.used_at = timezone.now()
                backup.save(update_fields=["used_at"])
                self.throttle_reset()
                return True
        self.throttle_increment()
        return False

    def get_throttle_factor(self) -> int:
        return 1


def totp_key_new() -> str:
    """20 random bytes, hex-encoded (django-otp's default TOTP key)."""
    return random_hex(20)


class AuthenticatorDevice(DataKeyDependent, TimestampMixin, ThrottlingMixin, Device):
    """A TOTP authenticator app: django-otp's TOTPDevice, except that the secret (`key`, hex) is
    encrypted under its user's data key, so a copy of the main database holds no second factor
    and deleting the account shreds it. Verification is TOTPDevice's (django-otp 1.7.5): a code
    once only (`last_t`), `tolerance` steps either side, drift followed, throttled on failure."""

    data_key_owner_field = "user"

    key = EncryptedCharField(max_length=80, default=totp_key_new)
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = "authenticator app"

    @property
    def bin_key(self) -> bytes:
        return unhexlify(self.key.encode())

    def verify_token(self, token: Any) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        try:
            code = int(token)
        except (TypeError, ValueError):
            verified = False
        else:
            totp = TOTP(self.bin_key, self.step, self.t0, self.digits, self.drift)
            totp.time = time.time()
            verified = totp.verify(code, self.tolerance, self.last_t + 1)
            if verified:
                self.last_t = totp.t()
                if getattr(settings, "OTP_TOTP_SYNC", True):
                    self.drift = totp.drift
                self.throttle_reset(commit=False)
                self.set_last_used_timestamp(commit=False)
                self.save()
        if not verified:
            self.throttle_increment(commit=True)
        return verified

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)

    @property
    def config_url(self) -> str:
        """The otpauth:// URL an authenticator app scans (Key Uri Format)."""
        issuer = str(getattr(settings, "OTP_TOTP_ISSUER", "") or "").replace(":", "")
        label = f"{issuer}:{self.user.get_username()}" if issuer else str(self.user.get_username())
        params = urlencode(
            {"secret": b32encode(self.bin_key), "algorithm": "SHA1", "digits": self.digits, "period": self.step}
        )
        if issuer:
            params += f"&issuer={quote(issuer)}"
        return f"otpauth://totp/{quote(label)}?{params}"


class BackupCode(models.Model):
    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=200)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Backup code {self.pk} of device {self.device_id}"


class MfaFailure(models.Model):
    """A failed second-factor attempt: counted for the daily cap (django-otp only backs off)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"MFA failure of {self.user_id} at {self.at:%Y-%m-%d %H:%M}"


class UserSession(models.Model):
    """Which sessions belong to whom, so that all of a user's sessions can be ended at once
    (sign-out, password or role change, disabling). Holds no session data."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Last activity (an HTTP request or a socket frame), kept to within a minute: staff sessions
    # idle for longer than STAFF_IDLE_TIMEOUT end.
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"Session of {self.user_id}"
