"""Which model fields hold licence plates, or may: the admin never filters, searches, sorts on them.

Plates are looked up only through the search pages, which ask for a purpose, check training
and write the access log. Anything else that could answer "was this plate seen, when, where"
is a side door. The rules are by field name and type, not by model, so a new model or field
is covered without anyone remembering to list it; ``tenants`` is the ground app, so this
module knows no other app's models.
"""

from __future__ import annotations

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q
from django.db.models.constants import LOOKUP_SEP

# A field whose name contains one of these is a plate or goes with one (a capture's state,
# the confusable-folded match key, a review's plate before/after).
PLATE_NAME_PARTS = ("plate", "match_key")
# Also never looked up or shown: the state of a read, and "repr" fields (the admin's and
# django-auditlog's object_repr), which hold str() of whatever changed.
SENSITIVE_NAME_PARTS = (*PLATE_NAME_PARTS, "state", "repr")


def is_plate_field(field: models.Field | models.ForeignObjectRel) -> bool:
    """A plate, a state of a read, or a copy of an object's text: never filtered on or shown."""
    name = field.name.lower()
    return any(part in name for part in SENSITIVE_NAME_PARTS)


def may_hold_plates(field: models.Field | models.ForeignObjectRel) -> bool:
    """Also free text and JSON: search queries, event details and change history carry plates."""
    return is_plate_field(field) or isinstance(field, (models.JSONField, models.TextField))


def is_plate_model(model: type[models.Model]) -> bool:
    """Rows that are readings of plates (captures, reviews, hotlist hits...)."""
    return any(
        any(part in field.name.lower() for part in PLATE_NAME_PARTS)
        for field in model._meta.concrete_fields
    )


def plate_models() -> list[type[models.Model]]:
    return [model for model in apps.get_models() if is_plate_model(model)]


def plate_content_types(prefix: str = "content_type") -> Q | None:
    """A filter matching rows whose content type (``prefix``) is a plate model, or None.

    By app label and model name, not by id: content type ids may differ between schemas.
    """
    found = Q()
    for model in plate_models():
        found |= Q(
            **{
                f"{prefix}__app_label": model._meta.app_label,
                f"{prefix}__model": model._meta.model_name,
            }
        )
    return found or None


def field_path(
    model: type[models.Model], lookup: str
) -> list[models.Field | models.ForeignObjectRel]:
    """The fields a lookup such as ``camera__captures__plate__startswith`` goes through.

    Stops at the first part that is not a field (a transform, a lookup, a JSON key); an
    empty list means the lookup names no field of ``model``.
    """
    path: list[models.Field | models.ForeignObjectRel] = []
    for part in lookup.split(LOOKUP_SEP):
        try:
            field = model._meta.pk if part == "pk" else model._meta.get_field(part)
        except FieldDoesNotExist:
            break
        path.append(field)
        if not field.is_relation or field.related_model is None:
            break
        model = field.related_model
    return path


def touches_plates(model: type[models.Model], lookup: str) -> bool:
    """Whether a lookup, search or ordering path reaches a field that may hold plates."""
    return any(may_hold_plates(field) for field in field_path(model, lookup))
