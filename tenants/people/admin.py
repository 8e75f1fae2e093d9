"""Accounts admin for an agency's Administrators: users, roles, training, second factor, lockouts.

Every write goes through ``tenants.people.services`` so it lands in the access log.
"""

from __future__ import annotations

import contextlib
import datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm, UsernameField
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from tenants.admin_tools import ReadOnlyAdmin
from tenants.people import services
from tenants.people.models import EncryptedTOTPDevice, LoginLock, TrainingRecord
from tenants.people.roles import Role
from tenants.people.selectors import DUE_SOON_DAYS, training_state
from tenants.people.training import TRAINING_VALID_DAYS

User = get_user_model()

# Roles are fixed groups (edited on the user); plain-hex TOTP devices are not used; backup
# codes are managed through the user's "reset second factor" action.
for model in (User, Group, TOTPDevice, StaticDevice):
    with contextlib.suppress(NotRegistered):
        admin.site.unregister(model)

ROLE_CHOICES = [(role.value, role.value) for role in Role]
ROLES_HELP = (
    "Administrator: manages users, training, cameras and settings, sees everything. "
    "Officer: searches plates, views captures, confirms reads. "
    "Auditor: reads and exports the access log; cannot search plates."
)


def _roles_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        choices=ROLE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=ROLES_HELP,
    )


class PortalUserCreationForm(UserCreationForm):
    roles = _roles_field()

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "first_name", "last_name", "email")


class PortalUserChangeForm(UserChangeForm):
    roles = _roles_field()

    class Meta:  # UserChangeForm.Meta's, with the fields listed
        model = User
        fields = ("username", "password", "first_name", "last_name", "email", "is_active")
        field_classes = {"username": UsernameField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            names = set(self.instance.groups.values_list("name", flat=True))
            self.initial["roles"] = [role.value for role in Role if role.value in names]


class TrainingRecordForm(forms.ModelForm):
    class Meta:
        model = TrainingRecord
        fields = ("kind", "completed_on", "trainer", "notes")
        widgets = {"notes": forms.TextInput(attrs={"size": 30})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A tabular inline shows labels as column headers only: name each control too.
        for field in self.fields.values():
            field.widget.attrs.setdefault("aria-label", str(field.label))

    def clean_completed_on(self) -> datetime.date:
        value = self.cleaned_data["completed_on"]
        if value > timezone.localdate():
            raise forms.ValidationError("A training cannot be completed in the future.")
        return value


class TrainingInline(admin.TabularInline):
    model = TrainingRecord
    form = TrainingRecordForm
    extra = 1
    fields = ("kind", "completed_on", "trainer", "notes", "recorded_at")
    readonly_fields = ("recorded_at",)
    verbose_name = "training"
    verbose_name_plural = "training records (initial, then a refresher every year)"

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)

        class Labelled(formset):  # type: ignore[misc,valid-type]
            def add_fields(self, form, index):
                super().add_fields(form, index)
                if "DELETE" in form.fields:  # a column header only: name the box too
                    form.fields["DELETE"].widget.attrs["aria-label"] = "Delete this record"

        return Labelled


class TrainingStatusFilter(admin.SimpleListFilter):
    title = "training"
    parameter_name = "training"

    def lookups(self, request, model_admin):
        return [
            ("attention", f"Lapsed, missing or due within {DUE_SOON_DAYS} days"),
            ("due_soon", f"Due within {DUE_SOON_DAYS} days"),
            ("lapsed", "Lapsed"),
            ("missing", "No initial training"),
            ("current", "Current"),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        lapsed_before = today - datetime.timedelta(days=TRAINING_VALID_DAYS)
        soon_until = lapsed_before + datetime.timedelta(days=DUE_SOON_DAYS)
        missing = Q(has_initial=False) | Q(latest_training__isnull=True)
        lapsed = Q(has_initial=True, latest_training__lt=lapsed_before)
        due_soon = Q(
            has_initial=True,
            latest_training__gte=lapsed_before,
            latest_training__lte=soon_until,
        )
        value = self.value()
        if value == "attention":
            return queryset.filter(missing | lapsed | due_soon)
        if value == "due_soon":
            return queryset.filter(due_soon)
        if value == "lapsed":
            return queryset.filter(lapsed)
        if value == "missing":
            return queryset.filter(missing)
        if value == "current":
            return queryset.filter(has_initial=True, latest_training__gt=soon_until)
        return queryset


class RoleFilter(admin.SimpleListFilter):
    title = "role"
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return ROLE_CHOICES + [("none", "No role")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.exclude(groups__name__in=[r.value for r in Role])
        if value in {r.value for r in Role}:
            return queryset.filter(groups__name=value)
        return queryset


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    form = PortalUserChangeForm
    add_form = PortalUserCreationForm
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "email")}),
        ("Access", {"fields": ("is_active", "roles")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "first_name",
                    "last_name",
                    "email",
                    "roles",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined")
    list_display = (
        "username",
        "full_name",
        "roles_display",
        "is_active",
        "training_display",
        "second_factor_display",
        "locked_display",
    )
    list_filter = (TrainingStatusFilter, RoleFilter, "is_active")
    search_fields = ("username", "first_name", "last_name", "email")
    filter_horizontal = ()
    inlines = [TrainingInline]
    actions = ["reset_second_factor", "unlock_accounts", "deactivate_users"]
    list_per_page = 50
    change_form_template = "admin/people/user/change_form.html"

    # --- one user's account, acted on from that user's page ----------------

    def get_urls(self):
        account = self.admin_site.admin_view(require_POST(self.account_action_view))
        return [
            path("<int:user_id>/account/<str:action>/", account, name="people_user_account"),
            *super().get_urls(),
        ]

    def account_state(self, user) -> dict[str, object]:
        lock = LoginLock.objects.filter(username=user.username, locked_at__isnull=False).first()
        return {
            "locked_at": lock.locked_at if lock else None,
            "second_factor": EncryptedTOTPDevice.objects.filter(user=user, confirmed=True).exists(),
            "active": user.is_active,
            "is_self": False,
        }

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        user = User.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        if user is not None:
            state = self.account_state(user)
            state["is_self"] = user.pk == request.user.pk
            extra_context["account"] = state
            extra_context["account_user"] = user
        return super().change_view(request, object_id, form_url, extra_context)

    def account_action_view(self, request: HttpRequest, user_id: int, action: str) -> HttpResponse:
        """POST reset_second_factor | unlock | deactivate for one user, then back to the page."""
        if not self.has_change_permission(request):
            raise Http404("No such page.")
        user = get_object_or_404(User, pk=user_id)
        actor = request.user if isinstance(request.user, User) else None
        if action == "reset_second_factor":
            services.mfa_reset(user=user, actor=actor, request=request)
            self.message_user(
                request,
                f"Second factor reset for {user.username}: they set up their authenticator "
                "again at their next sign-in.",
            )
        elif action == "unlock":
            done = services.account_unlock(username=user.username, actor=actor, request=request)
            text = (
                f"Unlocked {user.username}."
                if done
                else f"The account of {user.username} was not locked."
            )
            self.message_user(request, text, messages.SUCCESS if done else messages.INFO)
        elif action == "deactivate":
            if user.pk == request.user.pk:
                self.message_user(request, "You cannot deactivate yourself.", messages.ERROR)
            elif not user.is_active:
                self.message_user(
                    request, f"The account of {user.username} is already inactive.", messages.INFO
                )
            else:
                services.user_deactivate(user=user, actor=actor, request=request)
                self.message_user(
                    request, f"Deactivated {user.username}; their sessions have ended."
                )
        else:
            raise Http404("No such account action.")
        return HttpResponseRedirect(reverse("admin:auth_user_change", args=[user.pk]))

    def get_queryset(self, request):
        initial = TrainingRecord.objects.filter(
            user=OuterRef("pk"), kind=TrainingRecord.Kind.INITIAL
        )
        enrolled = EncryptedTOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
        locked = LoginLock.objects.filter(username=OuterRef("username"), locked_at__isnull=False)
        return (
            super()
            .get_queryset(request)
            .annotate(
                latest_training=Max("training_records__completed_on"),
                has_initial=Exists(initial),
                mfa_enrolled=Exists(enrolled),
                is_locked=Exists(locked),
            )
            .prefetch_related("groups")
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # An id that is not a user of this agency (e.g. another agency's) is a plain 404.
        raise Http404("No such user in this agency.")

    def has_delete_permission(self, request, obj=None) -> bool:
        # Users are deactivated, not deleted, so their history stays readable.
        return False

    @admin.display(description="name")
    def full_name(self, obj) -> str:
        return obj.get_full_name()

    @admin.display(description="roles")
    def roles_display(self, obj) -> str:
        names = {g.name for g in obj.groups.all()}
        return ", ".join(r.value for r in Role if r.value in names) or "—"

    @admin.display(description="training", ordering="latest_training")
    def training_display(self, obj) -> str:
        due, state = training_state(
            latest=obj.latest_training, has_initial=obj.has_initial, today=timezone.localdate()
        )
        if state == "missing":
            return format_html('<span class="training-missing">{}</span>', "No initial training")
        text = {"lapsed": "Lapsed since", "due_soon": "Due", "current": "Current until"}[state]
        return format_html('<span class="training-{}">{} {}</span>', state, text, due)

    @admin.display(description="second factor", boolean=True)
    def second_factor_display(self, obj) -> bool:
        return obj.mfa_enrolled

    @admin.display(description="sign-in", ordering="is_locked")
    def locked_display(self, obj) -> str:
        # Words, not icons: a red cross beside an account that is fine reads as a problem.
        if obj.is_locked:
            return format_html('<span class="account-locked">{}</span>', "Locked")
        return "Open"

    # --- writes, through services -------------------------------------

    def save_model(self, request, obj, form, change) -> None:
        roles = [Role(value) for value in form.cleaned_data.get("roles", [])]
        if not change:
            created = services.user_create(
                username=obj.username,
                email=obj.email,
                first_name=obj.first_name,
                last_name=obj.last_name,
                roles=roles,
                password=form.cleaned_data["password1"],
                actor=request.user,
                request=request,
            )
            # The admin's training inline and its redirect are bound to ``obj``: point it at
            # the row the service created.
            obj.pk = created.pk
            obj._state.adding = False
            obj.refresh_from_db()
            return
        before = User.objects.get(pk=obj.pk)
        if before.is_active and not obj.is_active and obj.pk == request.user.pk:
            obj.is_active = True
            messages.error(request, "You cannot deactivate your own account.")
        with transaction.atomic():
            obj.save()
            services.user_record_change(
                user=obj,
                changed=[f for f in form.changed_data if f not in {"roles", "is_active"}],
                actor=request.user,
                request=request,
            )
            if "roles" in form.changed_data:
                if obj.pk == request.user.pk and Role.ADMINISTRATOR not in roles:
                    roles.append(Role.ADMINISTRATOR)
                    messages.error(request, "You cannot remove your own Administrator role.")
                services.user_set_roles(user=obj, roles=roles, actor=request.user, request=request)
            if before.is_active and not obj.is_active:
                services.user_deactivate(user=obj, actor=request.user, request=request)
            elif not before.is_active and obj.is_active:
                services.user_record_change(
                    user=obj, changed=["is_active"], actor=request.user, request=request
                )

    def save_formset(self, request, form, formset, change) -> None:
        if formset.model is not TrainingRecord:
            return super().save_formset(request, form, formset, change)
        records = formset.save(commit=False)
        for record in formset.deleted_objects:
            services.training_record_delete(record=record, actor=request.user, request=request)
        changed_by_form = {id(f.instance): f.changed_data for f in formset.forms}
        for record in records:
            if record.pk is None:
                services.training_record_add(
                    user=form.instance,
                    kind=record.kind,
                    completed_on=record.completed_on,
                    trainer=record.trainer,
                    notes=record.notes,
                    actor=request.user,
                    request=request,
                )
            else:
                with transaction.atomic():
                    record.save()
                    services.training_record_change(
                        record=record,
                        changed=changed_by_form.get(id(record), []),
                        actor=request.user,
                        request=request,
                    )
        return None

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = User.objects.get(pk=id)
            services.user_record_change(
                user=user, changed=["password (set by an administrator)"], actor=request.user,
                request=request,
            )  # fmt: skip
        return response

    @admin.action(description="Reset second factor (the user enrols again at next sign-in)")
    def reset_second_factor(self, request, queryset) -> None:
        for user in queryset:
            services.mfa_reset(user=user, actor=request.user, request=request)
        self.message_user(
            request,
            f"Second factor reset for {queryset.count()} user(s); "
            "they set up their authenticator again at their next sign-in.",
        )

    @admin.action(description="Unlock selected accounts")
    def unlock_accounts(self, request, queryset) -> None:
        unlocked = [
            user.username
            for user in queryset
            if services.account_unlock(username=user.username, actor=request.user, request=request)
        ]
        if unlocked:
            self.message_user(request, f"Unlocked: {', '.join(unlocked)}.")
        else:
            self.message_user(request, "None of the selected accounts was locked.", messages.INFO)

    @admin.action(description="Deactivate selected users (ends their sessions)")
    def deactivate_users(self, request, queryset) -> None:
        done = []
        for user in queryset:
            if user.pk == request.user.pk:
                self.message_user(request, "You cannot deactivate yourself.", messages.ERROR)
                continue
            services.user_deactivate(user=user, actor=request.user, request=request)
            done.append(user.username)
        if done:
            self.message_user(request, f"Deactivated: {', '.join(done)}.")


@admin.register(LoginLock)
class LoginLockAdmin(ReadOnlyAdmin):
    list_display = ("username", "failures", "locked_at", "last_failure_at")
    list_filter = (("locked_at", admin.EmptyFieldListFilter),)
    search_fields = ("username",)
    readonly_fields = ("username", "failures", "locked_at", "last_failure_at")
    actions = ["unlock"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Unlock selected accounts", permissions=["view"])
    def unlock(self, request, queryset) -> None:
        names = [
            lock.username
            for lock in queryset
            if services.account_unlock(username=lock.username, actor=request.user, request=request)
        ]
        self.message_user(request, f"Unlocked: {', '.join(names) or 'none'}.")
