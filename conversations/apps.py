from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ConversationsConfig(AppConfig):
    name = "conversations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported once the models are loaded (Django's app-loading order), not to dodge a cycle.
        from conversations import checks  # noqa: F401 - registers itself
        from conversations.bot import retrieval
        from conversations.models import KnowledgeArticle

        # Every process rebuilds its bot index after an article changes (the admin's edits too).
        post_save.connect(retrieval.article_changed, sender=KnowledgeArticle, dispatch_uid="kb-index-save")
        post_delete.connect(retrieval.article_changed, sender=KnowledgeArticle, dispatch_uid="kb-index-delete")
