from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP

from accounts.models import AuthenticatorDevice


class Command(BaseCommand):
    help = "Print the current two-step code of a demo account's demo authenticator (DEBUG only)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_code runs only with DEBUG=1.")
        device = AuthenticatorDevice.objects.filter(
            user__username=options["username"], name="Demo authenticator"
        ).first()
        if device is None:
            raise CommandError(f"No demo authenticator for {options['username']!r}; run seed_demo first.")
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        totp.time = time.time()
        left = device.step - int(totp.time - device.t0) % device.step
        self.stdout.write(f"{totp.token():06d}  (valid for {left} more seconds; each code signs in once)")
