from __future__ import annotations

import factory

from accounts.models import User
from conversations.models import KnowledgeArticle

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    role = User.Role.CUSTOMER
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save(update_fields=["password"])


class ArticleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KnowledgeArticle

    title = factory.Sequence(lambda n: f"Article {n}")
    questions = ""
    answer = factory.Faker("paragraph")
