from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from vault.fields import BlindIndexField, DataKeyOwner, EncryptedCharField, EncryptedEmailField, EncryptedTextField


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


class DataRequest(models.Model):
    """A data-subject request: a copy of one's data (export) or its erasure (deletion).

    Holds metadata only, in plaintext, so the officer's queue sorts and filters on it. What
    identifies the requester (address, browser session) is in RequestDetails, under a data key of
    its own that is destroyed once a deletion is carried out; the tombstone (DeletionRecord) keeps
    the address's keyed hash as proof.
    """

    class Kind(models.TextChoices):
        EXPORT = "export", "Copy of my data"
        DELETION = "deletion", "Deletion of my data"

    class Status(models.TextChoices):
        UNVERIFIED = "unverified", "Waiting for e-mail confirmation"
        RECEIVED = "received", "Received"
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved", "Approved, being carried out"
        DONE = "done", "Done"
        DENIED = "denied", "Denied"
        EXPIRED = "expired", "Not confirmed in time"

    class Verification(models.TextChoices):
        EMAIL = "email", "E-mail link"
        ACCOUNT = "account", "Signed in, with a fresh password check"

    OPEN = (Status.RECEIVED, Status.IN_REVIEW, Status.APPROVED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.UNVERIFIED)
    # The account the request is about (known once verified); SET_NULL: the deletion removes it.
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_by = models.CharField(max_length=10, choices=Verification.choices, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    verified_at = models.DateTimeField(null=True, blank=True)  # "received": the month starts here
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    review_started_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    # What was found, deleted or exported: counts per kind, never content.
    counts = models.JSONField(default=dict, blank=True)
    # Exports: the encrypted archive waits in MEDIA_ROOT until downloaded once or expired.
    export_ready_at = models.DateTimeField(null=True, blank=True)
    export_downloaded_at = models.DateTimeField(null=True, blank=True)
    # The one e-mail that ends a request (ready, deleted, denied): claimed by the worker sending it
    # (a claim older than privacy.data_requests.notify.CLAIM_STALE_AFTER is taken over), then marked sent.
    confirmation_claimed_at = models.DateTimeField(null=True, blank=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} request {str(self.id)[:8]}"

    @property
    def kind_short(self) -> str:
        """The kind as staff name it: "Deletion" or "Export"."""
        return "Deletion" if self.kind == self.Kind.DELETION else "Export"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    def is_overdue(self, now: Any = None) -> bool:
        return self.is_open and self.due_at is not None and self.due_at < (now or timezone.now())


class RequestDetails(DataKeyOwner):
    """The personal side of a DataRequest: where to write, which browser asked, an officer's
    reason. Encrypted under its own data key; deleted (and so shredded, backups included) when a
    deletion is carried out or an unconfirmed request expires."""

    request = models.OneToOneField(DataRequest, on_delete=models.CASCADE, related_name="details")
    email = EncryptedEmailField(max_length=254, blank=True)
    email_index = BlindIndexField(source="email", purpose="email", db_index=True)
    # The requesting browser's session and the chat it held: a visitor's conversation is tied to
    # nothing else. Deleted with the subject's data.
    session_key = EncryptedCharField(max_length=40, blank=True)
    conversation_ids = models.JSONField(default=list, blank=True)
    reason = EncryptedTextField(blank=True)

    def __str__(self) -> str:
        return f"Details of {self.request_id}"


class DeletionRecord(models.Model):
    """The tombstone of a carried-out deletion: proof that it happened, and nothing more. The
    address only as its keyed hash (blind index), the dates, and how much was deleted."""

    class Origin(models.TextChoices):
        REQUEST = "request", "Deletion request"
        WIDGET = "widget", "Visitor deleted their chat"

    request_id = models.UUIDField(null=True, blank=True, unique=True)
    origin = models.CharField(max_length=10, choices=Origin.choices)
    email_index = models.CharField(max_length=64, blank=True, db_index=True)
    requested_at = models.DateTimeField()
    verified_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField()
    counts = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"Deletion {self.completed_at:%Y-%m-%d}"


class Alert(models.Model):
    """A rule of privacy.oversight.rules fired on the audit trail. The subject is as the entries
    hold it (a user id, a client address), never a name; `entry_seqs` are the entries counted."""

    class Rule(models.TextChoices):
        TRANSCRIPTS = "transcripts", "Many transcripts opened in an hour"
        OFF_HOURS = "off_hours", "Personal data read outside working hours"
        FAILED_SIGNINS_ACCOUNT = "signins_account", "Repeated failed sign-ins on one account"
        FAILED_SIGNINS_ADDRESS = "signins_address", "Repeated failed sign-ins from one address"
        EXPORTS = "exports", "A burst of exports"
        PRIVILEGED_ROLE = "privileged_role", "A privileged role or admin right given"

    rule = models.CharField(max_length=20, choices=Rule.choices)
    subject_user_id = models.BigIntegerField(null=True, blank=True)  # no foreign key: like audit entries
    subject_address = models.CharField(max_length=45, blank=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    count = models.PositiveIntegerField()
    entry_seqs = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    mailed_at = models.DateTimeField(null=True, blank=True)  # the officers' e-mail, sent once

    class Meta:
        indexes = [
            models.Index(fields=["rule", "subject_user_id", "created_at"], name="privacy_alert_user"),
            models.Index(fields=["rule", "subject_address", "created_at"], name="privacy_alert_address"),
            models.Index(
                fields=["created_at"], condition=models.Q(acknowledged_at__isnull=True), name="privacy_alert_open"
            ),
        ]

    def __str__(self) -> str:
        return f"Alert {self.pk} ({self.rule})"


class Incident(DataKeyOwner):
    """A security incident a privacy officer opened. The texts may name people, so they are
    encrypted under the incident's own data key; the audit entries it concerns are attached by seq
    (IncidentEntry), never copied. GDPR Art. 33: the supervisory authority is told within 72 hours
    of discovery (`deadline`)."""

    NOTIFICATION_HOURS = 72

    title = EncryptedCharField(max_length=200)
    description = EncryptedTextField(blank=True)
    discovered_at = models.DateTimeField()
    deadline = models.DateTimeField()
    opened_at = models.DateTimeField(default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    closed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notified_party = EncryptedCharField(max_length=200, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Incident {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class IncidentEntry(models.Model):
    """An audit entry attached to an incident, by its seq (the entry stays in the trail alone)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="entries")
    seq = models.BigIntegerField()
    attached_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    attached_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "seq"], name="privacy_incident_entry_once")]

    def __str__(self) -> str:
        return f"#{self.seq} in incident {self.incident_id}"
