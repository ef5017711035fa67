from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from conversations.demo_data import ARTICLES
from conversations.models import KnowledgeArticle

# A known password is the point of demo accounts; seed_demo refuses to run outside DEBUG.
DEMO_PASSWORD = "harbor-demo-2026"  # noqa: S105
DEMO_USERS = [
    ("dana", "Dana", "Customer", User.Role.CUSTOMER),
    ("alex", "Alex", "Agent", User.Role.AGENT),
    ("sam", "Sam", "Agent", User.Role.AGENT),
    ("morgan", "Morgan", "Supervisor", User.Role.SUPERVISOR),
    ("pat", "Pat", "Privacy officer", User.Role.PRIVACY_OFFICER),
]


class Command(BaseCommand):
    help = "Load the demo business (knowledge base) and demo accounts. Safe to run again."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--force", action="store_true", help="Allow outside DEBUG (never in production).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo creates accounts with a known password; it runs only with DEBUG=1 (or --force)."
            )
        with transaction.atomic():
            for article in ARTICLES:
                KnowledgeArticle.objects.update_or_create(title=article["title"], defaults=article)
            for username, first, last, role in DEMO_USERS:
                user, created = User.objects.get_or_create(
                    username=username, defaults={"first_name": first, "last_name": last, "role": role}
                )
                if created:
                    user.set_password(DEMO_PASSWORD)
                    # The supervisor edits the knowledge base in the admin.
                    user.is_staff = role == User.Role.SUPERVISOR
                    user.save()
                    if user.is_staff:
                        user.user_permissions.set(
                            Permission.objects.filter(
                                content_type__app_label="conversations", codename__endswith="knowledgearticle"
                            )
                        )
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {len(ARTICLES)} help articles."))
        self.stdout.write(f'Sign in at /accounts/login/ with password "{DEMO_PASSWORD}" as:')
        for username, _, last, _ in DEMO_USERS:
            self.stdout.write(f"  {username:8} ({last.lower()})")
        self.stdout.write("Chat as a visitor at /chat/ (no sign-in); agents work at /console/.")
