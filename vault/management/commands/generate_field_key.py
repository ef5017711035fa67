from __future__ import annotations

import base64
import secrets

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print a new random key for FIELD_ENCRYPTION_KEYS or BLIND_INDEX_KEY (url-safe base64 of 32 bytes)."

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii"))
