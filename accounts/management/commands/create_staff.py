from __future__ import annotations

import getpass
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.models import User


class Command(BaseCommand):
    help = (
        "Create a staff account (agent, supervisor or privacy officer). They set up two-step sign-in at first sign-in."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=sorted(User.STAFF_ROLES))
        parser.add_argument("--first-name", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        if User.objects.filter(username=options["username"]).exists():
            raise CommandError(f"{options['username']!r} already exists; change roles in the admin.")
        try:
            User.username_validator(options["username"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("The passwords differ.")
        try:
            validate_password(password, User(username=options["username"], first_name=options["first_name"]))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        user = services.staff_create(
            username=options["username"], role=options["role"], password=password, first_name=options["first_name"]
        )
        self.stdout.write(self.style.SUCCESS(f"Created {user.username} ({user.get_role_display()})."))
        self.stdout.write("At first sign-in they will be asked to set up two-step sign-in.")
