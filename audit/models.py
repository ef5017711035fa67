from __future__ import annotations

from typing import Any, NoReturn

from django.db import models

from audit.actions import Action, Outcome


class AppendOnly(Exception):
    """An audit entry or checkpoint was to be changed or deleted: never allowed through the ORM."""


class _AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnly("audit entries are append-only")

    def delete(self) -> NoReturn:
        raise AppendOnly("audit entries are append-only (pruning goes through audit.services.trail_prune)")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnly("audit entries are append-only")

    def update_or_create(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnly("audit entries are append-only")


class _AppendOnlyModel(models.Model):
    objects = _AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnly(f"a stored {type(self).__name__} cannot change")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnly(f"a stored {type(self).__name__} cannot be deleted")


class Entry(_AppendOnlyModel):
    """One event. `seq` orders the chain (1, 2, 3 … without gaps, pruning aside); `mac` is
    HMAC(AUDIT_KEY, prev_mac ‖ the entry's canonical fields) (audit.chain). No personal values:
    `details` holds ids, counts, kinds and blind indexes only."""

    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField(db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)  # no foreign key: entries outlive users
    actor_role = models.CharField(max_length=20, blank=True)
    action = models.CharField(max_length=40, choices=Action.choices)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    client_address = models.CharField(max_length=45, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.OK)
    details = models.JSONField(default=dict, blank=True)
    prev_mac = models.CharField(max_length=64)
    mac = models.CharField(max_length=64)

    class Meta:
        verbose_name_plural = "entries"
        indexes = [
            # The alert rules count by person, address or action in a time window.
            models.Index(fields=["actor_id", "action", "at"], name="audit_entry_actor"),
            models.Index(fields=["action", "at"], name="audit_entry_action"),
            models.Index(fields=["client_address", "action", "at"], name="audit_entry_address"),
            # The trail viewer filters by one of these and pages newest first by seq.
            models.Index(fields=["actor_id", "seq"], name="audit_entry_actor_seq"),
            models.Index(fields=["action", "seq"], name="audit_entry_action_seq"),
            models.Index(fields=["object_type", "object_id", "seq"], name="audit_entry_object_seq"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id} ({self.outcome})"


class Checkpoint(_AppendOnlyModel):
    """Where a pruned chain continues: the last pruned entry's seq and MAC, signed with AUDIT_KEY,
    so the first kept entry still proves its place (its prev_mac is `mac`, its seq `seq + 1`)."""

    seq = models.BigIntegerField(unique=True)
    mac = models.CharField(max_length=64)
    pruned = models.BigIntegerField()  # entries removed by this pruning
    at = models.DateTimeField()
    signature = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"checkpoint after #{self.seq}"
