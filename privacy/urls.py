from __future__ import annotations

from django.urls import path

from . import oversight_views, views

app_name = "privacy"
urlpatterns = [
    path("", views.notice, name="notice"),
    path("requests/new/", views.request_new, name="request_new"),
    path("requests/sent/", views.request_sent, name="request_sent"),
    path("requests/<uuid:request_id>/", views.request_status, name="request_status"),
    path("requests/<uuid:request_id>/verify/<str:token>/", views.request_verify, name="request_verify"),
    path("requests/<uuid:request_id>/status/<str:token>/", views.request_status_link, name="request_status_link"),
    path("exports/<uuid:request_id>/<str:token>/", views.export_download, name="export_download"),
    path("chat/delete/", views.chat_delete, name="chat_delete"),
    path("officer/", views.officer_queue, name="officer_queue"),
    path("officer/requests/<str:request_id>/", views.officer_request, name="officer_request"),
    # Oversight: the audit trail, its alerts, security incidents.
    path("trail/", oversight_views.trail_view, name="trail"),
    path("trail/export/", oversight_views.trail_export, name="trail_export"),
    path("alerts/", oversight_views.alerts_view, name="alerts"),
    path("alerts/<int:alert_id>/", oversight_views.alert_view, name="alert"),
    path("alerts/<int:alert_id>/acknowledge/", oversight_views.alert_acknowledge, name="alert_acknowledge"),
    path("incidents/", oversight_views.incidents_view, name="incidents"),
    path("incidents/<int:incident_id>/", oversight_views.incident_view, name="incident"),
]
