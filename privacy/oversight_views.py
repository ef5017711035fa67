"""The oversight pages: the audit trail (and its CSV export), its alerts, and security incidents.
Supervisors and privacy officers see the trail and alerts; only privacy officers handle incidents
(privacy.access). Every staff page needs the second factor (accounts.middleware); reading the
trail is recorded by the services these views call, not here."""

from __future__ import annotations

import csv
import itertools
from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.contrib import messages as flash
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import NotFound, role_required
from accounts.reauth import reauth_redirect
from privacy.access import alert_access, incident_access, may_acknowledge, may_handle_incidents, may_view_trail
from privacy.forms import IncidentAttachForm, IncidentCloseForm, IncidentOpenForm, TrailFilterForm
from privacy.oversight import alerts, incidents, people, trail

overseers_only = role_required(may_view_trail)
officers_only = role_required(may_handle_incidents)


def _filters(request: HttpRequest) -> tuple[TrailFilterForm, trail.TrailQuery | None, str]:
    """The filter form, its query (None when the filters are invalid), and the filters as a query
    string (for the pager and export)."""
    form = TrailFilterForm(request.GET or None, staff=people.staff_choices())
    query = form.query()
    kept = {name: value for name, value in request.GET.items() if name in form.fields and value}
    return form, query, urlencode(kept)


def _cursor(request: HttpRequest) -> int | None:
    raw = request.GET.get("before", "")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 2**63 else None


@never_cache
@overseers_only
@require_GET
def trail_view(request: HttpRequest) -> HttpResponse:
    form, query, kept = _filters(request)
    if query is None:  # nothing read, nothing recorded: the form says what to fix
        return render(request, "privacy/trail.html", {"form": form, "page": None, "filters": ""}, status=400)
    page = trail.trail_page(viewer=request.user, query=query, before_seq=_cursor(request))
    return render(
        request,
        "privacy/trail.html",
        {"form": form, "page": page, "filters": kept, "first_page": _cursor(request) is None},
    )


class _Echo:
    """csv.writer's file: hands each written line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


async def _csv_lines(rows: Iterator[list[str]]) -> AsyncIterator[str]:
    """The rows as CSV, read a batch at a time on the thread that runs the sync code: an async
    iterator, because under ASGI Django collects a sync one whole before sending its first byte."""
    writer = csv.writer(_Echo())
    take = sync_to_async(lambda: list(itertools.islice(rows, trail.EXPORT_BATCH)), thread_sensitive=True)
    while batch := await take():
        yield "".join(writer.writerow(row) for row in batch)


@never_cache
@overseers_only
@require_GET
def trail_export(request: HttpRequest) -> HttpResponse:
    """The filtered trail as CSV, streamed (exporting needs a recent re-authentication)."""
    if (back := reauth_redirect(request)) is not None:
        return back
    _form, query, _kept = _filters(request)
    if query is None:
        return HttpResponseBadRequest("The filters are not valid: correct them on the trail page.")
    rows = trail.trail_export(viewer=request.user, query=query)
    response = StreamingHttpResponse(_csv_lines(rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-trail-{stamp}.csv"'
    return response


@never_cache
@overseers_only
@require_GET
def alerts_view(request: HttpRequest) -> HttpResponse:
    open_alerts, done = alerts.alerts_list_open(viewer=request.user)
    subjects = people.current_labels({a.subject_user_id for a in [*open_alerts, *done]})
    return render(
        request,
        "privacy/alerts.html",
        {
            "open_alerts": [(a, subjects.get(a.subject_user_id, "")) for a in open_alerts],
            "acknowledged": [(a, subjects.get(a.subject_user_id, "")) for a in done],
        },
    )


@never_cache
@overseers_only
@require_GET
def alert_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    try:
        alert = alert_access(request.user, alert_id)
    except NotFound as exc:
        raise Http404("No such alert.") from exc
    return render(
        request,
        "privacy/alert.html",
        {
            "alert": alert,
            "subject": people.current_labels({alert.subject_user_id}).get(alert.subject_user_id, ""),
            "rows": trail.entries_by_seq(alert.entry_seqs, viewer=request.user, shown_on=("alert", alert.pk)),
            "can_acknowledge": may_acknowledge(request.user, alert),
        },
    )


@overseers_only
@require_POST
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    try:
        alert = alert_access(request.user, alert_id)
    except NotFound as exc:
        raise Http404("No such alert.") from exc
    if not may_acknowledge(request.user, alert):
        flash.error(request, "An alert about you, or raised by what you did, is acknowledged by someone else.")
    elif alerts.alert_acknowledge(alert=alert, user=request.user):
        flash.success(request, "Alert acknowledged.")
    return redirect("privacy:alerts")


@never_cache
@officers_only
@require_http_methods(["GET", "POST"])
def incidents_view(request: HttpRequest) -> HttpResponse:
    form = IncidentOpenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        incident = incidents.incident_open(officer=request.user, **form.cleaned_data)
        return redirect("privacy:incident", incident_id=incident.pk)
    rows = [(i, incidents.countdown(i)) for i in incidents.incidents_list()]
    return render(request, "privacy/incidents.html", {"form": form, "incidents": rows})


INCIDENT_ERRORS = {
    "closed": "This incident is closed.",
    "too_many": f"That is more than {incidents.MAX_ATTACH} entries: narrow the range or the filter.",
    "future": "This cannot be in the future.",
}


@never_cache
@officers_only
@require_http_methods(["GET", "POST"])
def incident_view(request: HttpRequest, incident_id: int) -> HttpResponse:
    try:
        incident = incident_access(request.user, incident_id)
    except NotFound as exc:
        raise Http404("No such incident.") from exc
    step = request.POST.get("step") if request.method == "POST" else None
    attach = IncidentAttachForm(request.POST if step == "attach" else None, prefix="attach")
    close = IncidentCloseForm(request.POST if step == "close" else None, prefix="close")
    try:
        if step == "attach" and attach.is_valid():
            added = incidents.incident_attach(
                incident=incident,
                officer=request.user,
                query=attach.query(),
                seq_from=attach.cleaned_data["seq_from"],
                seq_to=attach.cleaned_data["seq_to"],
            )
            flash.success(request, f"{added} entries attached.")
            return redirect("privacy:incident", incident_id=incident.pk)
        if step == "close" and close.is_valid():
            incidents.incident_close(incident=incident, officer=request.user, **close.cleaned_data)
            flash.success(request, "Incident closed.")
            return redirect("privacy:incident", incident_id=incident.pk)
    except incidents.IncidentError as exc:
        flash.error(request, INCIDENT_ERRORS[exc.code])
        return redirect("privacy:incident", incident_id=incident.pk)
    rows, attached = incidents.incident_entries(incident, viewer=request.user)
    return render(
        request,
        "privacy/incident.html",
        {
            "incident": incident,
            "countdown": incidents.countdown(incident),
            "rows": rows,
            "attached": attached,
            "attach_form": attach,
            "close_form": close,
        },
    )
