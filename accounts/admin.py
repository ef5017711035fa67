from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from . import services
from .mfa_views import reauth_redirect
from .models import User

SELF_LOCKED_FIELDS = ("role", "is_active", "is_staff", "is_superuser", "groups", "user_permissions")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "role", "is_active", "last_login")
    list_filter = ("role", "is_active", "is_superuser")
    fieldsets = (*BaseUserAdmin.fieldsets, ("Role", {"fields": ("role",)}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("Role", {"fields": ("role",)}))

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> tuple[str, ...]:
        # Nobody gives themselves a role or rights, not even an administrator.
        readonly = tuple(super().get_readonly_fields(request, obj))
        return (*readonly, *SELF_LOCKED_FIELDS) if obj is not None and obj.pk == request.user.pk else readonly

    def changeform_view(self, request: HttpRequest, object_id: str | None = None, *args: Any, **kwargs: Any) -> Any:
        # Changing who may do what (roles, rights, passwords) needs a recent re-authentication.
        return reauth_redirect(request) or super().changeform_view(request, object_id, *args, **kwargs)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change:
            services.user_access_change(user=obj, fields=set(form.changed_data))
