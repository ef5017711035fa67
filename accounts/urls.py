from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from . import mfa_views, views

app_name = "accounts"
urlpatterns = [
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", views.SignOutView.as_view(), name="logout"),
    path("accounts/signup/", views.sign_up, name="sign_up"),
    path("accounts/signup/check-email/", views.sign_up_check_email, name="sign_up_check_email"),
    path("accounts/mfa/disable/", mfa_views.mfa_disable, name="mfa_disable"),
    path("accounts/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="accounts/password_done.html"),
        name="password_change_done",
    ),
    path("accounts/", views.home, name="home"),
    path("accounts/mfa/setup/", mfa_views.mfa_setup, name="mfa_setup"),
    path("accounts/mfa/verify/", mfa_views.mfa_verify, name="mfa_verify"),
    path("accounts/mfa/", mfa_views.mfa_manage, name="mfa_manage"),
    path("accounts/mfa/backup-codes/", mfa_views.mfa_backup_codes_regenerate, name="mfa_backup_codes"),
    path("accounts/reauth/", mfa_views.reauth, name="reauth"),
    path("accounts/email/confirm/<int:user_id>/<str:token>/", views.email_confirm, name="email_confirm"),
    path("accounts/email/", views.email_address, name="email_address"),
]
