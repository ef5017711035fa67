from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from . import mfa_views, views

app_name = "accounts"
urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", views.home, name="home"),
    path("accounts/mfa/setup/", mfa_views.mfa_setup, name="mfa_setup"),
    path("accounts/mfa/verify/", mfa_views.mfa_verify, name="mfa_verify"),
    path("accounts/mfa/", mfa_views.mfa_manage, name="mfa_manage"),
    path("accounts/mfa/backup-codes/", mfa_views.mfa_backup_codes_regenerate, name="mfa_backup_codes"),
    path("accounts/reauth/", mfa_views.reauth, name="reauth"),
    path("me/conversations/", views.my_conversations, name="my_conversations"),
    path("me/conversations/<str:conversation_id>/", views.my_conversation, name="my_conversation"),
]
