from __future__ import annotations

import email
import email.policy
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Print the newest e-mail(s) the file e-mail backend wrote (development: EMAIL_URL=filemail://)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("-n", type=int, default=1, help="How many, newest last (default 1).")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.EMAIL_BACKEND != "django.core.mail.backends.filebased.EmailBackend":
            raise CommandError(f"E-mail is not written to files here (EMAIL_BACKEND is {settings.EMAIL_BACKEND}).")
        folder = Path(settings.EMAIL_FILE_PATH)
        files = sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
        if not files:
            raise CommandError(f"No e-mail in {folder} yet.")
        for path in files[-max(1, options["n"]) :]:
            # One file may hold several messages (one per connection); each starts with its headers.
            for raw in path.read_bytes().split(b"-" * 79):
                if not raw.strip():
                    continue
                message = email.message_from_bytes(raw.strip(), policy=email.policy.default)
                body = message.get_body(preferencelist=("plain",))
                self.stdout.write(f"To: {message['To']}\nSubject: {message['Subject']}\nDate: {message['Date']}\n")
                self.stdout.write((body.get_content() if body else "").strip() + "\n" + "-" * 40)
