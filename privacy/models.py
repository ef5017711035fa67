from __future__ import annotations

import uuid

from django.db import models


class DataKey(models.Model):
    """One customer's or one conversation's data key, wrapped (encrypted) under a master key from
    FIELD_ENCRYPTION_KEYS. Lives in the separate `keys` database (privacy.routers): deleting the row
    makes every value encrypted under it unreadable, in the live database and in its backups."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    wrapped = models.BinaryField()
    # Fingerprint of the master key that wrapped it (privacy.crypto.MasterKey.fingerprint):
    # rotation finds what is not yet under the newest key without trying to decrypt everything.
    master_key_id = models.CharField(max_length=16, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Set on keys made by a `--data` rotation: one left unused by an interrupted run is known to be
    # an orphan as soon as that run finishes (others only after a grace period).
    rotation = models.ForeignKey("KeyRotation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Set on the key a `--data` run replaced: that run destroys it when it finishes.
    retired_by = models.ForeignKey("KeyRotation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return f"Data key {self.id}"


class KeyRotation(models.Model):
    """A run of `rotate_encryption_keys --data`. A subject is done when its data key was made by
    the run (DataKey.rotation), so an interrupted run resumes where it stopped. One process holds
    the run at a time: `holder` and a `heartbeat_at` renewed every batch. Lives in `keys`."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    holder = models.CharField(max_length=32, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # True while unfinished, NULL after: the unique constraint allows one unfinished run, even
    # when two processes start at the same moment.
    unfinished = models.BooleanField(null=True, default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["unfinished"], name="one_unfinished_key_rotation")]

    def __str__(self) -> str:
        return f"Key rotation started {self.started_at:%Y-%m-%d %H:%M}"


class RetentionRun(models.Model):
    """One run of the retention purge (privacy.retention): what it deleted, never what was in it."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        INTERRUPTED = "interrupted", "Interrupted (the next run finished the work)"
        SKIPPED = "skipped", "Skipped (another run was in progress)"

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    cutoff = models.DateTimeField(help_text="Conversations whose last message is older than this were due.")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    conversations = models.PositiveIntegerField(default=0)
    messages = models.PositiveIntegerField(default=0)
    notes = models.PositiveIntegerField(default=0)
    data_keys = models.PositiveIntegerField(default=0)
    held = models.PositiveIntegerField(default=0, help_text="Conversations past the cutoff kept for a legal hold.")
    error = models.CharField(max_length=200, blank=True, help_text="The kind of error, never data.")

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Retention run {self.started_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"
