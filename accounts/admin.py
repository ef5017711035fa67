from __future__ import annotations

from typing import Any

from axes import admin as axes_admin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from vault.blind import blind_index

from . import lockouts, mfa, rights, selectors, services
from .models import AuthenticatorDevice, MfaFailure, User
from .reauth import reauth_redirect

SELF_LOCKED_FIELDS = ("role", "is_active", "is_staff", "is_superuser", "groups", "user_permissions")


class RecordedReads:
    """The pages of a model admin about people (its list, a record, its history, its deletion's
    confirmation) record who was shown them (accounts.selectors.admin_records_open). Only a page
    shown (200 to a GET): a refusal, a redirect or a saved form shows nothing."""

    model: Any

    def _shown(self, request: HttpRequest, response: HttpResponse, page: str, object_id: str = "") -> HttpResponse:
        if request.method == "GET" and response.status_code == 200:
            rows = None
            if page == "list" and (changelist := (getattr(response, "context_data", None) or {}).get("cl")):
                rows = len(changelist.result_list)
            selectors.admin_records_open(
                viewer=request.user,
                object_type=self.model._meta.model_name,
                object_id=unquote(object_id),
                page=page,
                rows=rows,
            )
        return response

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        return self._shown(request, super().changelist_view(request, extra_context), "list")  # type: ignore[misc]

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().change_view(request, object_id, *args, **kwargs)  # type: ignore[misc]
        return self._shown(request, response, "change", object_id)

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        response = super().history_view(request, object_id, extra_context)  # type: ignore[misc]
        return self._shown(request, response, "history", object_id)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        response = super().delete_view(request, object_id, extra_context)  # type: ignore[misc]
        return self._shown(request, response, "delete", object_id)


@admin.register(User)
class UserAdmin(RecordedReads, BaseUserAdmin):
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
        # Django's form saves the password; the service records it in the same transaction. Only a
        # saved form sends back to the account's page (conflicting buttons: to this page again).
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:
                user = self.get_object(request, unquote(id))
                if user is not None and response.url == reverse(
                    f"{self.admin_site.name}:accounts_user_change", args=(user.pk,)
                ):
                    keep = request.session.session_key if user.pk == request.user.pk else None
                    services.user_password_set_by_admin(user=user, by=request.user, keep_session_key=keep)
        return self._shown(request, response, "password", id)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        services.user_save_by_admin(user=obj, changed=set(form.changed_data), by=request.user, created=not change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Groups and permissions go through the recorded service instead of form.save_m2m() (the
        # only many-to-many fields of a user). Absent from the form (read-only): left as they are.
        rights.user_rights_set_by_admin(
            user=form.instance,
            groups=form.cleaned_data.get("groups"),
            permissions=form.cleaned_data.get("user_permissions"),
            by=request.user,
        )
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, Any, Any, list[Any]]:
        # An account with a conversation on legal hold cannot go from here (its conversations would
        # go with it): the confirmation page refuses it, as for a protected object.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        held = services.users_holding(objs)
        protected = [*protected, *(f"{name}: has a conversation on legal hold" for name in held)]
        return deleted, counts, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        services.users_delete_by_admin(users=[obj], by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        try:
            services.users_delete_by_admin(users=queryset, by=request.user)
        except services.HeldConversations as held:
            messages.error(
                request,
                f"Nothing was deleted: {held} hold conversations on legal hold. Lift the holds first, "
                "or let the customer ask for deletion through a data request (held conversations are kept).",
            )


class GroupAdmin(BaseGroupAdmin):
    """A group's permissions are every member's: changing them, or deleting the group, is recorded
    (accounts.rights)."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        rights.group_permissions_set_by_admin(
            group=form.instance, permissions=form.cleaned_data["permissions"], by=request.user
        )
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request: HttpRequest, obj: Group) -> None:
        rights.groups_delete_by_admin(groups=[obj], by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        rights.groups_delete_by_admin(groups=queryset, by=request.user)


# django.contrib.auth.admin registered Group with its own admin when imported above.
if admin.site.is_registered(Group):
    admin.site.unregister(Group)
admin.site.register(Group, GroupAdmin)


@admin.register(AuthenticatorDevice)
class AuthenticatorDeviceAdmin(RecordedReads, admin.ModelAdmin):
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
class MfaFailureAdmin(RecordedReads, admin.ModelAdmin):
    """Wrong second-factor codes, counted for the daily cap: delete a user's rows to unlock them."""

    list_display = ("user", "at")
    list_filter = ("at",)
    search_fields = ("user__username",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: MfaFailure) -> None:
        lockouts.mfa_failures_delete(failures=[obj], by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        lockouts.mfa_failures_delete(failures=queryset, by=request.user)


class LiftedLockouts:
    """Deleting django-axes' failed sign-in records lifts lockouts: recorded (accounts.lockouts)."""

    def delete_model(self, request: HttpRequest, obj: AccessAttempt) -> None:
        lockouts.access_attempts_delete(attempts=[obj], by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        lockouts.access_attempts_delete(attempts=queryset, by=request.user)


# django-axes' records of sign-in attempts hold usernames and client addresses: their pages record
# reads too (axes registers them first: it comes before accounts in INSTALLED_APPS).
for _model, _bases in (
    (AccessAttempt, (RecordedReads, LiftedLockouts, axes_admin.AccessAttemptAdmin)),
    (AccessLog, (RecordedReads, axes_admin.AccessLogAdmin)),
    (AccessFailureLog, (RecordedReads, axes_admin.AccessFailureLogAdmin)),
):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
        admin.site.register(_model, type(_bases[-1].__name__, _bases, {}))
