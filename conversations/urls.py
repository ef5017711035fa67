from __future__ import annotations

from django.urls import path

from . import canned_views, views

app_name = "conversations"
urlpatterns = [
    path("", views.home, name="home"),
    path("chat/", views.widget, name="widget"),
    path("demo/", views.demo_site, name="demo_site"),
    path("me/conversations/", views.my_conversations, name="my_conversations"),
    path("me/conversations/<str:conversation_id>/", views.my_conversation, name="my_conversation"),
    path("console/", views.console, name="console"),
    path("console/history/", views.console_history, name="console_history"),
    path("console/dashboard/", views.console_dashboard, name="console_dashboard"),
    path("console/conversations/<str:conversation_id>/", views.console_conversation, name="console_conversation"),
    path("console/conversations/<str:conversation_id>/claim/", views.console_claim, name="console_claim"),
    path("console/conversations/<str:conversation_id>/resolve/", views.console_resolve, name="console_resolve"),
    path("console/conversations/<str:conversation_id>/assign/", views.console_assign, name="console_assign"),
    path("console/conversations/<str:conversation_id>/hold/", views.console_hold, name="console_hold"),
    path(
        "console/conversations/<str:conversation_id>/canned/<str:reply_id>/",
        canned_views.canned_fill,
        name="canned_fill",
    ),
    path("console/canned/", canned_views.canned_list, name="canned_list"),
    path("console/canned/new/", canned_views.canned_new, name="canned_new"),
    path("console/canned/<str:reply_id>/", canned_views.canned_edit, name="canned_edit"),
    path("console/canned/<str:reply_id>/delete/", canned_views.canned_delete, name="canned_delete"),
]
