from __future__ import annotations

from django import forms
from django.contrib import admin

from .bot import safety
from .models import KnowledgeArticle


class KnowledgeArticleForm(forms.ModelForm):
    class Meta:
        model = KnowledgeArticle
        fields = ["title", "questions", "answer", "is_published"]

    def clean_answer(self) -> str:
        answer = self.cleaned_data["answer"]
        if asking := safety.asks_for_secret(answer):
            raise forms.ValidationError(
                f"The bot never asks for passwords, PINs, card numbers or codes: \u201c{asking}\u201d. "
                "Tell customers where to do it safely instead."
            )
        return answer


@admin.register(KnowledgeArticle)
class KnowledgeArticleAdmin(admin.ModelAdmin):
    form = KnowledgeArticleForm
    list_display = ("title", "is_published", "updated_at")
    list_filter = ("is_published",)
    search_fields = ("title", "questions", "answer")
