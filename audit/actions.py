"""Every kind of audit event, with the words the trail page and the customer's page use. A
recorder call names one of these; an unknown action is refused (a typo would hide a read)."""

from __future__ import annotations

from django.db import models


class Action(models.TextChoices):
    # Reads of personal data by staff.
    TRANSCRIPT_OPENED = "transcript.opened", "opened a transcript"
    CUSTOMER_OPENED = "customer.opened", "opened a customer's details"
    HISTORY_SEARCHED = "history.searched", "searched or filtered the history"
    NOTE_READ = "note.read", "read internal notes"
    NOTE_WRITTEN = "note.written", "wrote an internal note"
    TRANSCRIPT_EXPORTED = "transcript.exported", "exported a transcript"
    # The conversation's handling.
    CONVERSATION_CLAIMED = "conversation.claimed", "claimed a conversation"
    CONVERSATION_REASSIGNED = "conversation.reassigned", "reassigned a conversation"
    CONVERSATION_RESOLVED = "conversation.resolved", "resolved a conversation"
    LEGAL_HOLD_SET = "legal_hold.set", "set a legal hold"
    LEGAL_HOLD_LIFTED = "legal_hold.lifted", "lifted a legal hold"
    # Sign-in and the second factor.
    SIGNIN_SUCCEEDED = "signin.succeeded", "signed in"
    SIGNIN_FAILED = "signin.failed", "failed to sign in"
    SECOND_FACTOR_FAILED = "mfa.failed", "failed the second factor"
    LOCKED_OUT = "signin.locked_out", "was locked out"
    MFA_ENROLLED = "mfa.enrolled", "enrolled a second factor"
    MFA_RESET = "mfa.reset", "reset a second factor"
    BACKUP_CODES_MADE = "mfa.backup_codes", "made backup codes"
    # Who may do what.
    ROLE_CHANGED = "user.role_changed", "changed a role"
    RIGHTS_CHANGED = "user.rights_changed", "changed admin rights"
    ACTIVE_CHANGED = "user.active_changed", "activated or deactivated an account"
    PASSWORD_SET = "user.password_set", "set someone's password"
    USER_DELETED = "user.deleted", "deleted an account"
    LOCKOUT_LIFTED = "signin.lockout_lifted", "lifted a lockout or code cap"
    # Data-subject requests.
    REQUEST_VERIFIED = "request.verified", "verified a data request"
    REQUEST_APPROVED = "request.approved", "approved a data request"
    REQUEST_DENIED = "request.denied", "denied a data request"
    REQUEST_EXECUTED = "request.executed", "carried out a data request"
    EXPORT_DOWNLOADED = "export.downloaded", "downloaded a data export"
    # Jobs and configuration.
    RETENTION_RUN = "retention.run", "ran the retention job"
    KEYS_ROTATED = "keys.rotated", "rotated encryption keys"
    SCHEDULE_EDITED = "schedule.edited", "edited a job schedule"
    # The trail itself and incidents.
    TRAIL_VIEWED = "trail.viewed", "viewed the audit trail"
    TRAIL_EXPORTED = "trail.exported", "exported the audit trail"
    TRAIL_PRUNED = "trail.pruned", "pruned the audit trail"
    INCIDENT_OPENED = "incident.opened", "opened a security incident"
    INCIDENT_ENTRIES_ATTACHED = "incident.attached", "attached entries to an incident"
    INCIDENT_CLOSED = "incident.closed", "closed a security incident"
    ALERT_ACKNOWLEDGED = "alert.acknowledged", "acknowledged an alert"


class Outcome(models.TextChoices):
    OK = "ok", "done"
    DENIED = "denied", "refused"
    FAILED = "failed", "failed"


# Reads a customer is shown on their own page ("who read my data"): staff opening, exporting or
# working on the conversation. Roles, never names.
CUSTOMER_VISIBLE = frozenset(
    {
        Action.TRANSCRIPT_OPENED,
        Action.TRANSCRIPT_EXPORTED,
        Action.NOTE_READ,
        Action.CONVERSATION_CLAIMED,
        Action.CONVERSATION_REASSIGNED,
        Action.CONVERSATION_RESOLVED,
    }
)
# Not shown to the customer: a legal hold being set or lifted (it could tip off the subject of an
# investigation); the customer's notice says holds exist.
