"""The data keys and the runs that rotate them. Both live in the `keys` database (vault.routers),
apart from everything they protect."""

from __future__ import annotations

import uuid

from django.db import models


class DataKey(models.Model):
    """One customer's or one conversation's data key, wrapped (encrypted) under a master key from
    FIELD_ENCRYPTION_KEYS. Lives in the separate `keys` database (vault.routers): deleting the row
    makes every value encrypted under it unreadable, in the live database and in its backups."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    wrapped = models.BinaryField()
    # Fingerprint of the master key that wrapped it (vault.keyring.MasterKey.fingerprint):
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
