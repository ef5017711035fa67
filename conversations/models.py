from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from vault.fields import DataKeyDependent, DataKeyOwner, EncryptedTextField


class Conversation(DataKeyOwner):
    """A chat, and the support ticket it becomes once handed to a human.

    Its content lives in Message rows, encrypted under the conversation's own data key; this row
    holds only metadata, so lists, filters and retention work on plaintext columns.
    """

    class State(models.TextChoices):
        BOT = "bot", "With the bot"
        WAITING = "waiting", "Waiting for an agent"
        AGENT = "agent", "With an agent"
        RESOLVED = "resolved", "Resolved"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="conversations"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.BOT)
    assigned_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
    )
    last_seq = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    waiting_since = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # For the supervisor dashboard (conversations.dashboard): the first hand-over to people (kept
    # when a resolved conversation reopens) and the first agent message after it.
    handed_over_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    # Which privacy notice the customer was shown, and when (consent as data).
    notice_version = models.CharField(max_length=20, blank=True)
    notice_shown_at = models.DateTimeField(null=True, blank=True)
    # Legal hold: the retention purge skips the conversation (set by a supervisor, with a reason).
    legal_hold = models.BooleanField(default=False)
    legal_hold_reason = EncryptedTextField(null=True, blank=True)
    legal_hold_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    legal_hold_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "waiting_since"]),
            models.Index(fields=["assigned_agent", "state"]),
            # The console history, newest activity first, paged by (last_message_at, id).
            models.Index(fields=["last_message_at", "id"], name="conversation_activity_idx"),
            models.Index(fields=["legal_hold", "last_message_at"], name="retention_idx"),
            # The dashboard's periods (conversations.dashboard): opened, first answered, resolved.
            models.Index(fields=["created_at"], name="conversation_opened_idx"),
            models.Index(fields=["first_response_at"], name="conversation_answered_idx"),
            models.Index(fields=["resolved_at"], name="conversation_resolved_idx"),
        ]

    def __str__(self) -> str:
        return f"Conversation {self.short_id}"

    @property
    def short_id(self) -> str:
        return str(self.id)[:8]


class Message(DataKeyDependent):
    class Sender(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        BOT = "bot", "Bot"
        AGENT = "agent", "Agent"
        SYSTEM = "system", "System"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    data_key_owner_field = "conversation"
    seq = models.PositiveIntegerField()
    # The sender's idempotency key: a resend with the same client_id is stored once.
    client_id = models.UUIDField(null=True, blank=True)
    sender = models.CharField(max_length=10, choices=Sender.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = EncryptedTextField()
    # The kinds of what was masked out of the body before it was stored (conversations.redaction),
    # such as ["card"]: the widget and the console say so. Never the values.
    masked = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="message_seq_unique"),
            models.UniqueConstraint(
                fields=["conversation", "client_id"],
                condition=Q(client_id__isnull=False),
                name="message_client_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"Message {self.seq} of {self.conversation_id}"


class InternalNote(DataKeyDependent):
    """A note staff leave on a conversation. Never sent to, or queried for, the customer."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="notes")
    data_key_owner_field = "conversation"
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    client_id = models.UUIDField()
    body = EncryptedTextField()
    masked = models.JSONField(default=list, blank=True)  # as Message.masked
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "client_id"], name="note_client_id_unique"),
        ]

    def __str__(self) -> str:
        return f"Note {self.pk} on {self.conversation_id}"


class KnowledgeArticle(models.Model):
    """What the bot answers from. Edited by staff in the admin; holds no personal data."""

    title = models.CharField(max_length=200)
    questions = models.TextField(
        blank=True, help_text="Ways a customer might ask for this, one per line. Used for matching only."
    )
    answer = models.TextField(help_text="What the bot replies.")
    is_published = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class CannedReply(DataKeyOwner):
    """A reply an agent inserts into the composer: shared (no owner; supervisors manage them) or
    personal (one console user's own). The body may name people in a personal reply, so it is
    encrypted under the reply's own data key; the shortcut and title are labels for finding it.
    Placeholders such as {customer_first_name} are filled when it is inserted (conversations.canned)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="canned_replies"
    )
    shortcut = models.SlugField(max_length=40, help_text="Typed after / in the composer, such as greet.")
    title = models.CharField(max_length=80)
    body = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["shortcut", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "shortcut"], name="canned_personal_shortcut_unique"),
            models.UniqueConstraint(
                fields=["shortcut"], condition=Q(owner__isnull=True), name="canned_shared_shortcut_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"Canned reply /{self.shortcut}"

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None
