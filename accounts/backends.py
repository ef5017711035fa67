"""Sign in with a username or an e-mail address. Addresses are stored encrypted: the account is
found through the e-mail's blind index, whatever its case or surrounding spaces."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from accounts.models import User
from vault.blind import blind_index


def user_by_email(address: str) -> User | None:
    index = blind_index("email", address)
    return User.objects.filter(email_index=index).first() if index else None


class EmailOrUsernameBackend(ModelBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if username is None or password is None or "@" not in username:
            return super().authenticate(request, username=username, password=password, **kwargs)
        user = user_by_email(username) or User.objects.filter(username=username).first()
        if user is None:
            User().set_password(password)  # the same hashing time as for a known address
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
