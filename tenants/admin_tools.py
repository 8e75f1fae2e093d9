"""Admin building blocks shared by the apps (tenants is the one app every other may import)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.admin.exceptions import DisallowedModelAdminLookup
from django.contrib.admin.options import BaseModelAdmin, InlineModelAdmin
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import url_params_from_lookup_dict
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Paginator
from django.db import models
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.functional import cached_property

from tenants.plate_fields import (
    field_path,
    is_plate_field,
    is_plate_model,
    may_hold_plates,
    plate_content_types,
    touches_plates,
)

security_log = logging.getLogger("django.security.DisallowedModelAdminLookup")

NO_PLATES_CHANGE_FORM = "admin/no_plates/change_form.html"
LOOKUP_REFUSED_TEMPLATE = "admin/no_plates/lookup_refused.html"


class CappedPaginator(Paginator):
    """Counts at most ``CAP`` rows: an exact count of millions of rows is too slow for a page."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if isinstance(rows, models.QuerySet):
            return len(rows.values_list("pk", flat=True)[: self.CAP])
        return min(len(rows), self.CAP)


class ReadOnlyAdminMixin:
    """Rows that are written only by services (or never): the admin shows them, nothing more."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


# --- No side doors to plate data ------------------------------------------------------------


def _expression_names(expression: Any) -> Iterator[str]:
    if isinstance(expression, F):
        _path, (name, *_), _kwargs = expression.deconstruct()
        yield str(name)
    elif isinstance(expression, str):
        yield expression.lstrip("-")
    for source in getattr(expression, "get_source_expressions", lambda: [])():
        yield from _expression_names(source)


def ordering_touches_plates(model: type[models.Model], ordering: Any) -> bool:
    """Whether one ordering entry (a name, ``-name``, F() or OrderBy) sorts by plate data."""
    if ordering is None:
        return False
    return any(touches_plates(model, name) for name in _expression_names(ordering))


class NoPlatesChangeList(ChangeList):
    """Ignores ``?o=`` on any column whose sort key may hold plates, and such default orderings."""

    def get_ordering_field(self, field_name):
        order_field = super().get_ordering_field(field_name)
        return None if ordering_touches_plates(self.model, order_field) else order_field

    def get_ordering(self, request, queryset):
        ordering = super().get_ordering(request, queryset)
        return [o for o in ordering if not ordering_touches_plates(self.model, o)]


_changelists: dict[type[ChangeList], type[ChangeList]] = {}


def _no_plates_changelist(base: type[ChangeList]) -> type[ChangeList]:
    if issubclass(base, NoPlatesChangeList):
        return base
    if base not in _changelists:
        _changelists[base] = type(base.__name__, (NoPlatesChangeList, base), {})
    return _changelists[base]


def _filter_fields(fields: Sequence[Any], keep) -> list[Any]:
    """Fieldset ``fields`` (names, or tuples of names shown on one row) without what ``keep`` refuses."""
    kept: list[Any] = []
    for entry in fields:
        if isinstance(entry, (list, tuple)):
            row = [name for name in entry if keep(name)]
            if row:
                kept.append(tuple(row))
        elif keep(entry):
            kept.append(entry)
    return kept


def _names_one_row(field: models.Field[Any, Any] | models.ForeignObjectRel) -> bool:
    """A key that picks one related row (a reverse relation picks many)."""
    return isinstance(field, models.Field) and bool(field.primary_key or field.unique)


if TYPE_CHECKING:  # the mixin goes in front of a ModelAdmin, whose methods it extends
    _ModelAdminBase = admin.ModelAdmin[Any]
else:
    _ModelAdminBase = object


class NoPlatesAdminMixin(_ModelAdminBase):
    """What every ModelAdmin of both admin sites gets (``PortalAdminSite.register`` adds it).

    Plates are looked up on the search pages, which ask for a purpose, check training and
    write the access log; the admin must not answer the same question without any of that.
    So, whatever a ModelAdmin (ours or a third-party one) declares:

    - a filter in the query string is allowed only if the page offers it (its sidebar
      filters, its date drill-down, a related-object popup's limits) and reaches no field
      that may hold plates (``tenants.plate_fields``); anything else is refused with a 400;
    - search, sort and the sidebar filters leave out fields that may hold plates;
    - such fields are not displayed (free text the administrator types into stays editable);
    - rows of plate models (captures, reviews) are read-only, have no history page and are
      labelled by their id; change-history rows of plate models are not listed at all.
    """

    model: type[models.Model]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if is_plate_model(self.model) and not self.change_form_template:
            # Per instance (Django reads it from the instance; django-stubs calls it a ClassVar).
            self.change_form_template = NO_PLATES_CHANGE_FORM  # type: ignore[misc]

    # --- which names are safe ----------------------------------------------------------------

    def _model_field(self, name: Any) -> models.Field | models.ForeignObjectRel | None:
        if not isinstance(name, str):
            return None
        try:
            return self.model._meta.get_field(name)
        except FieldDoesNotExist:
            return None

    def _column_touches_plates(self, name: Any) -> bool:
        """A list column that shows plate data, or is sorted by it (and so most likely shows it)."""
        field = self._model_field(name)
        if field is not None:
            return may_hold_plates(field) or bool(
                field.is_relation and field.related_model and is_plate_model(field.related_model)
            )
        if callable(name):
            attr = name
        elif isinstance(name, str):
            attr = getattr(self, name, None) or getattr(self.model, name, None)
        else:
            return False
        if isinstance(attr, property):
            attr = attr.fget
        return ordering_touches_plates(self.model, getattr(attr, "admin_order_field", None))

    def _row_label(self):
        opts = self.model._meta

        def label(obj: models.Model) -> str:
            return f"{str(opts.verbose_name).capitalize()} {obj.pk}"

        label.short_description = opts.verbose_name  # type: ignore[attr-defined]
        return label

    # --- lookups in the query string ---------------------------------------------------------

    def _offered_lookup(self, lookup: str, request: HttpRequest) -> bool:
        list_filter = self.get_list_filter(request)
        offered: list[str] = [self.date_hierarchy] if self.date_hierarchy else []
        for item in list_filter:
            if isinstance(item, type) and issubclass(item, admin.SimpleListFilter):
                if lookup == item.parameter_name:
                    return True
            elif isinstance(item, (list, tuple)) and isinstance(item[0], str):
                offered.append(item[0])
            elif isinstance(item, str):
                offered.append(item)
        path = field_path(self.model, lookup)
        names = [field.name for field in path]
        for entry in offered:
            parts = entry.split("__")
            if names[: len(parts)] != parts:
                continue
            extra = path[len(parts) :]
            # A related-field filter names the related row by its key (camera__id__exact).
            if not extra or (len(extra) == 1 and _names_one_row(extra[0])):
                return True
        return False

    def _limit_choices_lookup(self, lookup: str, value: Any) -> bool:
        """The limits a related-object popup passes on (``ForeignKey.limit_choices_to``)."""
        for fk_lookup in self.model._meta.related_fkey_lookups:
            if callable(fk_lookup):
                fk_lookup = fk_lookup()
            if (lookup, value) in url_params_from_lookup_dict(fk_lookup).items():
                return True
        return False

    def lookup_allowed(self, lookup: str, value: Any, request: HttpRequest) -> bool:
        if touches_plates(self.model, lookup):
            return False
        if self._limit_choices_lookup(lookup, value):
            return True
        if not self._offered_lookup(lookup, request):
            return False
        return super().lookup_allowed(lookup, value, request)

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        try:
            return super().changelist_view(request, extra_context)
        except DisallowedModelAdminLookup as exc:
            security_log.warning("%s (%s)", exc, request.path)
            context = {
                **self.admin_site.each_context(request),
                "title": "This list cannot be filtered that way",
                "opts": self.model._meta,
            }
            return TemplateResponse(request, LOOKUP_REFUSED_TEMPLATE, context, status=400)

    # --- search, sort, filters ---------------------------------------------------------------

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        return [
            name
            for name in super().get_search_fields(request)
            if not touches_plates(self.model, name.lstrip("^=@"))
        ]

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        kept = []
        for item in super().get_list_filter(request):
            path = item[0] if isinstance(item, (list, tuple)) else item
            if isinstance(path, str) and touches_plates(self.model, path):
                continue
            kept.append(item)
        return kept

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        ordering = super().get_ordering(request) or ()
        return [o for o in ordering if not ordering_touches_plates(self.model, o)]

    def get_sortable_by(self, request: HttpRequest) -> list[Any]:
        return [
            name
            for name in super().get_sortable_by(request)
            if not self._column_touches_plates(name)
        ]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return _no_plates_changelist(super().get_changelist(request, **kwargs))

    # --- what is displayed -------------------------------------------------------------------

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        shown: list[Any] = []
        for name in super().get_list_display(request):
            if name == "__str__" and is_plate_model(self.model):
                shown.append(self._row_label())
            elif not self._column_touches_plates(name):
                shown.append(name)
        return shown or [self._row_label()]

    def get_fieldsets(self, request: HttpRequest, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            can_edit = self.has_add_permission(request)
        else:
            can_edit = self.has_change_permission(request, obj)
        readonly = set(self.get_readonly_fields(request, obj))

        def keep(name: Any) -> bool:
            field = self._model_field(name)
            if field is None:
                return True
            if is_plate_field(field):
                return False
            if field.is_relation and field.related_model and is_plate_model(field.related_model):
                return False  # its label would be str(capture)
            if may_hold_plates(field):
                # Free text the administrator edits (a policy, a note) stays; stored text and
                # JSON (event details, queries, change history) are read on the audit pages.
                return can_edit and field.editable and name not in readonly
            return True

        kept = []
        for title, options in fieldsets:
            fields = _filter_fields(options.get("fields", ()), keep)
            if fields:
                kept.append((title, {**options, "fields": fields}))
        return kept

    def get_inline_instances(self, request: HttpRequest, obj=None) -> list[InlineModelAdmin]:
        return [
            inline
            for inline in super().get_inline_instances(request, obj)
            if not is_plate_model(inline.model)
        ]

    def get_queryset(self, request: HttpRequest):
        queryset = super().get_queryset(request)
        # Change history (django-auditlog's LogEntry, the admin's own log) of plate models
        # holds their plates: it is shown on the capture page only, after a logged search.
        for field in self.model._meta.concrete_fields:
            if field.is_relation and field.related_model is ContentType:
                excluded = plate_content_types(prefix=field.name)
                if excluded is not None:
                    queryset = queryset.exclude(excluded)
        return queryset

    # --- rows of plate models ----------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return not is_plate_model(self.model) and super().has_add_permission(request, *args)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return not is_plate_model(self.model) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return not is_plate_model(self.model) and super().has_delete_permission(request, obj)

    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None):
        if is_plate_model(self.model):
            # The page title would otherwise be str(obj), which may name the plate.
            extra_context = {
                **(extra_context or {}),
                "subtitle": f"{str(self.model._meta.verbose_name).capitalize()} {object_id}",
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request: HttpRequest, object_id, extra_context=None):
        if is_plate_model(self.model):
            raise Http404("The change history of this record is shown on its own page only.")
        return super().history_view(request, object_id, extra_context)


def with_no_plates(admin_class: type[BaseModelAdmin]) -> type[BaseModelAdmin]:
    """``admin_class`` with ``NoPlatesAdminMixin`` in front (the same class if it has it)."""
    if issubclass(admin_class, NoPlatesAdminMixin):
        return admin_class
    return type(
        admin_class.__name__,
        (NoPlatesAdminMixin, admin_class),
        {"__module__": admin_class.__module__, "__qualname__": admin_class.__qualname__},
    )
