"""Second factors as facts: whether someone must pass one, has one, and whether a session has
passed one. (Enrolling and verifying are accounts.mfa.)"""

from __future__ import annotations

from typing import Any

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from accounts import roles
from accounts.models import AuthenticatorDevice, User


def has_confirmed_device(user: User) -> bool:
    return AuthenticatorDevice.objects.filter(user=user, confirmed=True).exists()


def required_for(user: User) -> bool:
    """Staff always; customers once they have turned it on."""
    return roles.is_staff(user) or (user.is_active and has_confirmed_device(user))


def session_is_verified(user: Any, session: Any) -> bool:
    """For sockets, where django-otp's middleware never runs: has this session passed a second
    factor with a device the user still has? Users who need no MFA pass."""
    if user is None or not user.is_authenticated or not required_for(user):
        return True
    persistent_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
    if not persistent_id:
        return False
    device = Device.from_persistent_id(persistent_id)
    return device is not None and device.user_id == user.pk and device.confirmed
