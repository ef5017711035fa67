"""Where personal data may lie, in one place.

Every text-like column of every installed model is listed here exactly once: ENCRYPTED (an
EncryptedTextField, under its subject's data key), BLIND_INDEXES (a keyed hash for lookups), or
PLAINTEXT with the reason it holds nothing personal or why it must stay readable.
tests/privacy/test_coverage.py checks every model against these lists, so a new plaintext field
fails the suite until someone decides where it belongs. Rotation reads ENCRYPTED to know what to
re-encrypt.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.db.models import Model

from vault.fields import BlindIndexField, EncryptedTextField

ENCRYPTED: frozenset[str] = frozenset(
    {
        "accounts.User.first_name",
        "accounts.User.last_name",
        "accounts.User.email",
        "accounts.User.pending_email",
        "accounts.AuthenticatorDevice.key",
        "conversations.Message.body",
        "conversations.InternalNote.body",
        "conversations.Conversation.legal_hold_reason",
        "conversations.CannedReply.body",
        "privacy.RequestDetails.email",
        "privacy.RequestDetails.session_key",
        "privacy.RequestDetails.reason",
        "privacy.Incident.title",
        "privacy.Incident.description",
        "privacy.Incident.notified_party",
    }
)

BLIND_INDEXES: dict[str, str] = {
    "accounts.User.email_index": "HMAC of the normalised e-mail under BLIND_INDEX_KEY: sign-in, data requests",
    "privacy.RequestDetails.email_index": "the same HMAC: a request's account, and the tombstone's proof",
}

_FAILED_SIGN_IN = (
    "django-axes record of a failed sign-in (username as typed, e-mail only as its blind index); "
    "deleted hourly once the lockout cool-off has passed"
)

PLAINTEXT: dict[str, str] = {
    # accounts
    "accounts.User.username": "a sign-in handle the person chooses (sign-up says it need not be a real name)",
    "accounts.User.password": "a salted password hash",
    "accounts.User.role": "a role name",
    "accounts.BackupCodeDevice.name": "a fixed device label",
    "accounts.AuthenticatorDevice.name": "a fixed device label",
    "accounts.BackupCode.code_hash": "an scrypt hash",
    "accounts.UserSession.session_key": "a random session key",
    # audit (no personal value by construction: audit.services.record takes ids, kinds and blind indexes)
    "audit.Entry.actor_role": "the actor's role name at the time",
    "audit.Entry.action": "an event kind (audit.actions)",
    "audit.Entry.object_type": "a model name",
    "audit.Entry.object_id": "the id of a row (never a value)",
    "audit.Entry.client_address": "the client's IP address, kept as the record of access (AUDIT_RETENTION_DAYS)",
    "audit.Entry.outcome": "whether it was done, refused or failed",
    "audit.Entry.details": "flat ids, counts, kinds and blind indexes (audit.services._checked)",
    "audit.Entry.prev_mac": "the previous entry's HMAC",
    "audit.Entry.mac": "this entry's HMAC under AUDIT_KEY",
    "audit.Checkpoint.mac": "the last pruned entry's HMAC",
    "audit.Checkpoint.signature": "an HMAC under AUDIT_KEY",
    # conversations
    "conversations.Conversation.state": "workflow state",
    "conversations.Conversation.notice_version": "version of the privacy notice shown",
    "conversations.Message.sender": "who sent it: customer, bot, agent, system",
    "conversations.Message.masked": "the kinds masked out of the body before storing (card, …), never the values",
    "conversations.InternalNote.masked": "the kinds masked out of the note before storing, never the values",
    "conversations.KnowledgeArticle.title": "the business's help content, not personal",
    "conversations.KnowledgeArticle.questions": "the business's help content, not personal",
    "conversations.KnowledgeArticle.answer": "the business's help content, not personal",
    "conversations.CannedReply.shortcut": "a short keyword staff type to find a reply (a slug, such as greet)",
    "conversations.CannedReply.title": "a reply's label chosen by staff; the form says to keep names out of it",
    # privacy (keys database)
    "vault.DataKey.wrapped": "a data key, encrypted under a master key",
    "vault.DataKey.master_key_id": "a keyed fingerprint of a master key",
    "vault.KeyRotation.holder": "a random id of the process running a key rotation",
    "privacy.RetentionRun.status": "a run's state",
    "privacy.RetentionRun.error": "the class name of an error, never its message or data",
    "privacy.DataRequest.kind": "export or deletion",
    "privacy.DataRequest.status": "a request's state",
    "privacy.DataRequest.verified_by": "how the requester was verified: e-mail link or account",
    "privacy.DataRequest.counts": "how many rows of each kind were found, deleted or exported; never content",
    "privacy.RequestDetails.conversation_ids": "random ids of the requesting browser's conversations",
    "privacy.DeletionRecord.origin": "request or widget",
    "privacy.DeletionRecord.email_index": "a copy of the address's blind index (keyed HMAC), kept as proof",
    "privacy.DeletionRecord.counts": "how many rows of each kind were deleted; never content",
    "privacy.Alert.rule": "the name of an alert rule",
    "privacy.Alert.subject_address": "a client IP address copied from the audit entries that fired the rule",
    "privacy.Alert.entry_seqs": "the seqs of the audit entries that fired the rule",
    # Django
    "admin.LogEntry.object_id": "a primary key",
    "admin.LogEntry.object_repr": "str() of the object: a username or 'Conversation <id>', never content",
    "admin.LogEntry.change_message": "the names of changed fields, not their values",
    "auth.Permission.name": "schema metadata",
    "auth.Permission.codename": "schema metadata",
    "auth.Group.name": "a group name chosen by an administrator",
    "contenttypes.ContentType.app_label": "schema metadata",
    "contenttypes.ContentType.model": "schema metadata",
    "sessions.Session.session_key": "a random session key",
    "sessions.Session.session_data": "signed ids and timestamps (user, device, conversation ids), no content",
    # django-celery-beat: the job schedule (ids only are passed to tasks, never text)
    **{
        f"django_celery_beat.{field}": "job schedule, set by administrators; no personal data"
        for field in (
            "SolarSchedule.event",
            "IntervalSchedule.period",
            "CrontabSchedule.minute",
            "CrontabSchedule.hour",
            "CrontabSchedule.day_of_month",
            "CrontabSchedule.month_of_year",
            "CrontabSchedule.day_of_week",
            "PeriodicTask.name",
            "PeriodicTask.task",
            "PeriodicTask.args",
            "PeriodicTask.kwargs",
            "PeriodicTask.queue",
            "PeriodicTask.exchange",
            "PeriodicTask.routing_key",
            "PeriodicTask.headers",
            "PeriodicTask.description",
        )
    },
    # django-axes
    **{
        f"axes.{model}.{field}": _FAILED_SIGN_IN
        for model in ("AccessAttempt", "AccessFailureLog", "AccessLog")
        for field in ("username", "user_agent", "ip_address", "http_accept", "path_info")
    },
    "axes.AccessAttempt.get_data": _FAILED_SIGN_IN + "; usernames and secrets masked",
    "axes.AccessAttempt.post_data": _FAILED_SIGN_IN + "; usernames and secrets masked",
    "axes.AccessLog.session_hash": "not written: AXES_DISABLE_ACCESS_LOG",
}

TEXT_FIELD_TYPES = ("CharField", "TextField", "JSONField", "BinaryField", "FileField", "GenericIPAddressField")


def _is_text_like(field: Any) -> bool:
    return any(cls.__name__ in TEXT_FIELD_TYPES for cls in type(field).__mro__)


def audit(models: Iterable[type[Model]] | None = None) -> list[str]:
    """What is wrong with the lists above, as sentences; empty when every text-like column of
    every model (or of the given ones) is classified exactly once and truthfully."""
    whole = models is None
    problems, seen = [], set()
    for model in apps.get_models(include_auto_created=True) if whole else models:
        for field in model._meta.concrete_fields:
            if not _is_text_like(field):
                continue
            name = f"{model._meta.label}.{field.name}"
            seen.add(name)
            listed = [
                kind
                for kind, names in (
                    ("ENCRYPTED", ENCRYPTED),
                    ("BLIND_INDEXES", BLIND_INDEXES),
                    ("PLAINTEXT", PLAINTEXT),
                )
                if name in names
            ]
            if len(listed) > 1:
                problems.append(f"{name} is listed in {' and '.join(listed)}: choose one")
            if isinstance(field, EncryptedTextField) != ("ENCRYPTED" in listed):
                problems.append(
                    f"{name} is listed as encrypted but stored in plaintext"
                    if listed == ["ENCRYPTED"]
                    else f"{name} is encrypted but not listed in ENCRYPTED"
                )
            elif isinstance(field, BlindIndexField) != ("BLIND_INDEXES" in listed):
                problems.append(f"{name}: a blind index must be a BlindIndexField listed in BLIND_INDEXES")
            elif not listed:
                problems.append(
                    f"{name} ({type(field).__name__}) is stored in plaintext and classified nowhere: encrypt it "
                    "(EncryptedTextField) or list it in privacy.coverage.PLAINTEXT with the reason it is not personal"
                )
    if whole:
        for name in sorted((ENCRYPTED | BLIND_INDEXES.keys() | PLAINTEXT.keys()) - seen):
            problems.append(f"{name} is listed but no such text field exists")
    return problems
