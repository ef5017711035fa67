from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest, HttpResponse

from vault.blind import blind_index

from . import mfa, services
from .models import AuthenticatorDevice, MfaFailure, User
from .reauth import reauth_redirect

SELF_LOCKED_FIELDS = ("role", "is_active", "is_staff", "is_superuser", "groups", "user_permissions")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "role", "is_active", "last_login")
    # Names and e-mail are encrypted: search by username, or by an exact e-mail address (its
    # blind index), whatever its case.
    search_fields = ("username",)
    search_help_text = "Username, or an exact e-mail address."
    list_filter = ("role", "is_active", "is_superuser")
    fieldsets = (*BaseUserAdmin.fieldsets, ("Role", {"fields": ("role",)}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("Role", {"fields": ("role",)}))

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> tuple[Any, bool]:
        if "@" in search_term:
            return queryset.filter(email_index=blind_index("email", search_term)), False
        return super().get_search_results(request, queryset, search_term)

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> tuple[str, ...]:
        # Nobody gives themselves a role or rights, not even an administrator.
        readonly = tuple(super().get_readonly_fields(request, obj))
        return (*readonly, *SELF_LOCKED_FIELDS) if obj is not None and obj.pk == request.user.pk else readonly

    def changeform_view(self, request: HttpRequest, object_id: str | None = None, *args: Any, **kwargs: Any) -> Any:
        # Changing who may do what (roles, rights) needs a recent re-authentication.
        return reauth_redirect(request) or super().changeform_view(request, object_id, *args, **kwargs)

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        # Setting someone's password needs a recent re-authentication and signs them out everywhere.
        if response := reauth_redirect(request):
            return response
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = User.objects.get(pk=id)
            keep = request.session.session_key if user.pk == request.user.pk else None
            services.sessions_end(user=user, keep_session_key=keep)
        return response

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        services.user_save_by_admin(user=obj, changed=set(form.changed_data), by=request.user, created=not change)


@admin.register(AuthenticatorDevice)
class AuthenticatorDeviceAdmin(admin.ModelAdmin):
    """An administrator may see and remove someone's authenticator (they enroll again); the secret
    is never shown. Removing is the one way to reset it (`confirmed` is not edited here), so that
    every reset is recorded (accounts.mfa.authenticator_remove)."""

    list_display = ("user", "name", "confirmed", "last_used_at")
    list_select_related = ("user",)
    fields = ("user", "name", "confirmed", "last_used_at")
    readonly_fields = ("user", "confirmed", "last_used_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: AuthenticatorDevice) -> None:
        mfa.authenticator_remove(device=obj, by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for device in queryset.select_related("user"):
            mfa.authenticator_remove(device=device, by=request.user)


@admin.register(MfaFailure)
class MfaFailureAdmin(admin.ModelAdmin):
    """Wrong second-factor codes, counted for the daily cap: delete a user's rows to unlock them."""

    list_display = ("user", "at")
    list_filter = ("at",)
    search_fields = ("user__username",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
