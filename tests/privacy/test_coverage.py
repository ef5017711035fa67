"""Every text column of every model is encrypted, a blind index, or plaintext for a stated reason."""

from __future__ import annotations

from django.db import models
from django.test.utils import isolate_apps

from privacy import coverage
from vault.fields import EncryptedTextField


def test_every_text_field_of_every_model_is_classified_truthfully() -> None:
    assert coverage.audit() == []


def test_every_plaintext_entry_gives_a_reason() -> None:
    assert all(len(reason) > 10 for reason in [*coverage.PLAINTEXT.values(), *coverage.BLIND_INDEXES.values()])


@isolate_apps("privacy")
def test_a_new_plaintext_personal_field_is_caught() -> None:
    class Callback(models.Model):  # noqa: DJ008 - a throwaway model
        phone = models.CharField(max_length=30)
        notes = EncryptedTextField()

        class Meta:
            app_label = "privacy"

    problems = coverage.audit([Callback])
    assert any("privacy.Callback.phone" in p and "classified nowhere" in p for p in problems)
    assert any("privacy.Callback.notes is encrypted but not listed" in p for p in problems)


def test_a_field_listed_as_encrypted_but_stored_plainly_is_caught(monkeypatch: object) -> None:
    monkeypatch.setattr(coverage, "ENCRYPTED", coverage.ENCRYPTED | {"accounts.User.username"})
    monkeypatch.setattr(
        coverage, "PLAINTEXT", {k: v for k, v in coverage.PLAINTEXT.items() if k != "accounts.User.username"}
    )
    assert "accounts.User.username is listed as encrypted but stored in plaintext" in coverage.audit()
