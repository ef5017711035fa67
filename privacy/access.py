"""Access to data-subject requests and to the portal: who may see, decide or download what."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from accounts.access import NotFound, as_uuid
from accounts.roles import is_customer, is_privacy_officer, is_supervisor
from audit.models import Entry
from privacy.models import Alert, DataRequest, Incident


def data_request_access(user: Any, request_id: Any) -> Any:
    """A data-subject request, for a privacy officer; NotFound for anyone else or a bad id."""
    if not is_privacy_officer(user):
        raise NotFound
    try:
        return DataRequest.objects.select_related("details").get(pk=as_uuid(request_id))
    except DataRequest.DoesNotExist as exc:
        raise NotFound from exc


def data_request_status_access(user: Any, request_id: Any) -> Any:
    """A request's status page by its plain address: for the signed-in customer it is about.
    (Visitors use the signed status link from the confirmation page and our e-mails.) NotFound
    otherwise."""
    request = DataRequest.objects.filter(pk=as_uuid(request_id)).first()
    if request is None or not may_download_export_from_status(user, request):
        raise NotFound
    return request


def may_use_portal(user: Any) -> bool:
    """The portal's request form is for visitors and customers; staff accounts are an
    administrator's business."""
    return not getattr(user, "is_authenticated", False) or is_customer(user)


def may_open_account_request(user: Any) -> bool:
    """A request made from an account (verified by being signed in) is a customer's."""
    return is_customer(user)


def may_download_export_from_status(user: Any, data_request: Any) -> bool:
    """A signed-in customer sees their own export's download link on its status page."""
    return bool(is_customer(user) and data_request.subject_id is not None and data_request.subject_id == user.pk)


def may_see_denial_reason(user: Any, data_request: Any) -> bool:
    """Why a deletion was denied is shown on the status page to whoever proved the address (the
    signed link a visitor got by e-mail), or to the signed-in customer it is about."""
    return data_request.verified_by == DataRequest.Verification.EMAIL or may_download_export_from_status(
        user, data_request
    )


def may_decide(user: Any, data_request: Any) -> bool:
    """May this officer approve or deny the request now: a deletion still open for decision
    (copies are sent without review)."""
    return (
        is_privacy_officer(user)
        and data_request.kind == DataRequest.Kind.DELETION
        and data_request.status in (DataRequest.Status.RECEIVED, DataRequest.Status.IN_REVIEW)
    )


def export_includes_staff_notes() -> bool:
    """Does a customer's export include the text of staff notes on their conversations? Notes are
    staff-only everywhere else and may concern other people: by default the export says how many
    there are and how to ask for them (PRIVACY_EXPORT_STAFF_NOTES=1 includes them)."""
    return settings.PRIVACY_EXPORT_STAFF_NOTES


# --- oversight: the audit trail, its alerts and security incidents ------------------------------
def may_view_trail(user: Any) -> bool:
    """Supervisors and privacy officers (and superusers) read the audit trail, export it and see
    and acknowledge its alerts."""
    return is_supervisor(user) or is_privacy_officer(user)


def may_acknowledge(user: Any, alert: Alert) -> bool:
    """Those who see alerts acknowledge them, except an alert about themselves or one that their
    own actions raised (an administrator who granted someone rights): it would leave the officers'
    open list on its subject's word."""
    if not may_view_trail(user) or alert.subject_user_id == user.pk:
        return False
    return not Entry.objects.filter(seq__in=alert.entry_seqs, actor_id=user.pk).exists()


def may_handle_incidents(user: Any) -> bool:
    """Only privacy officers (and superusers) open, attach evidence to and close incidents."""
    return is_privacy_officer(user)


def alert_access(user: Any, alert_id: Any) -> Alert:
    """An alert, for those who may view the trail; NotFound otherwise or for a bad id."""
    if not may_view_trail(user):
        raise NotFound
    try:
        return Alert.objects.get(pk=int(alert_id))
    except (Alert.DoesNotExist, TypeError, ValueError) as exc:
        raise NotFound from exc


def incident_access(user: Any, incident_id: Any) -> Incident:
    """An incident, for a privacy officer; NotFound otherwise or for a bad id."""
    if not may_handle_incidents(user):
        raise NotFound
    try:
        return Incident.objects.select_related("opened_by", "closed_by").get(pk=int(incident_id))
    except (Incident.DoesNotExist, TypeError, ValueError) as exc:
        raise NotFound from exc
