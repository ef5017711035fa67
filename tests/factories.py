from __future__ import annotations

import factory
from django.contrib.auth.hashers import make_password

from accounts.models import User
from conversations.models import KnowledgeArticle

PASSWORD = "correct-horse-battery-9"
# Hashed once per test run with the real hasher: hashing per user would cost ~0.3 s each.
_PASSWORD_HASH = make_password(PASSWORD)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    role = User.Role.CUSTOMER
    password = _PASSWORD_HASH


class ArticleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KnowledgeArticle

    title = factory.Sequence(lambda n: f"Article {n}")
    questions = ""
    answer = factory.Faker("paragraph")
