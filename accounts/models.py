from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import models
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin

from accounts.backup_codes import backup_code_matches, normalize_backup_code
from vault.fields import BlindIndexField, DataKeyOwner, EncryptedCharField, EncryptedEmailField


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
    # (accounts.services.email_confirm): `email` only ever holds confirmed addresses (or ones an
    # administrator set), and sign-up never tells whether another account uses an address.
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
