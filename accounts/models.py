from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """Everyone who signs in. Website visitors chat without an account (see conversations)."""

    class Role(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        AGENT = "agent", "Agent"
        SUPERVISOR = "supervisor", "Supervisor"
        PRIVACY_OFFICER = "privacy_officer", "Privacy officer"

    STAFF_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.PRIVACY_OFFICER})

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CUSTOMER)

    @property
    def is_staff_member(self) -> bool:
        """Staff of the business (any staff role, or a superuser): the console's population."""
        return self.is_active and (self.role in self.STAFF_ROLES or self.is_superuser)

    @property
    def is_customer(self) -> bool:
        return self.is_active and self.role == self.Role.CUSTOMER and not self.is_superuser
