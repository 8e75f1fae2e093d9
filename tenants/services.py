"""Creating agencies (schema, host and first administrator, all or nothing), and changes to an
agency's settings, by platform staff or by the agency's own Administrators; every change is
written to the agency's own access log."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from auditlog.context import disable_auditlog
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone as django_timezone
from django_tenants.utils import get_public_schema_name, schema_context

from audit.models import Action
from audit.services import record_event
from tenants.models import (
    MAX_RETENTION_DAYS,
    RETENTION_LIMIT_MESSAGE,
    Agency,
    Domain,
    slug_validator,
)
from tenants.people.roles import Role
from tenants.people.services import (
    PeopleError,
    random_password,
    user_create,
    user_fields_check,
)
from tenants.policy import DEFAULT_POLICY

RESERVED_SLUGS = frozenset(
    {
        "public", "www", "admin", "api", "static", "media", "mail", "smtp", "platform",
        "localhost", "postgres", "template0", "template1", "information-schema",
        "pg-catalog", "pg-toast", "auth", "login", "status", "help", "docs",
    }
)  # fmt: skip
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class AgencyError(Exception):
    """A request to create an agency that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class AgencyCreated:
    agency: Agency
    domain: str
    created: bool
    admin_username: str | None = None
    admin_password: str | None = None


def normalize_hostname(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if not host or len(host) > 253:
        raise AgencyError(f"{host!r} is not a valid hostname.")
    labels = host.split(".")
    if any(not _HOST_LABEL.match(label) for label in labels):
        raise AgencyError(
            f"{host!r} is not a valid hostname: use letters, digits and hyphens in dot-separated "
            "parts (e.g. demo.localhost), with no port, scheme or path."
        )
    return host


def schema_name_for(slug: str) -> str:
    return slug.replace("-", "_")


def validate_new_agency(*, slug: str, name: str, host: str) -> None:
    try:
        slug_validator(slug)
    except ValidationError as exc:
        raise AgencyError(f"Invalid slug {slug!r}: {' '.join(exc.messages)}") from None
    if slug in RESERVED_SLUGS or schema_name_for(slug).startswith("pg_"):
        raise AgencyError(f"The slug {slug!r} is reserved; choose another.")
    if not name.strip():
        raise AgencyError("The agency needs a name.")
    if (
        Agency.objects.filter(slug=slug).exists()
        or Agency.objects.filter(schema_name=schema_name_for(slug)).exists()
    ):
        raise AgencyError(f"An agency with the slug {slug!r} already exists.")
    if Domain.objects.filter(domain=host).exists():
        owner = Domain.objects.select_related("tenant").get(domain=host).tenant
        raise AgencyError(f"The host {host!r} is already used by {owner.name!r}.")


def validate_admin(username: str, email: str | None) -> None:
    try:
        user_fields_check(username=username, email=email or "", who="administrator ")
    except PeopleError as exc:
        raise AgencyError(str(exc)) from None


def agency_create(
    *,
    slug: str,
    name: str,
    domain: str,
    admin_username: str | None = None,
    admin_email: str | None = None,
    timezone: str | None = None,
) -> AgencyCreated:
    """Create an agency's schema, its host and (optionally) its first administrator.

    Re-running with the same slug and host is a no-op that reports the agency; any
    other clash is an ``AgencyError``. A failure part-way leaves nothing behind:
    PostgreSQL DDL is transactional, so the schema is rolled back with the rows.
    """
    slug = slug.strip().lower()
    host = normalize_hostname(domain)
    if admin_username:
        validate_admin(admin_username, admin_email)

    existing = Agency.objects.filter(slug=slug).first()
    if existing is not None and existing.domains.filter(domain=host).exists():
        admin_created = None
        password = None
        if admin_username:
            admin_created, password = _ensure_admin(existing, admin_username, admin_email)
        return AgencyCreated(
            agency=existing,
            domain=host,
            created=False,
            admin_username=admin_username if admin_created else None,
            admin_password=password,
        )

    validate_new_agency(slug=slug, name=name, host=host)
    with transaction.atomic():
        agency = Agency(schema_name=schema_name_for(slug), slug=slug, name=name.strip())
        if timezone:
            agency.timezone = timezone
        agency.full_clean(exclude=["schema_name"])
        agency.save()
        Domain.objects.create(domain=host, tenant=agency, is_primary=True)
        password = None
        if admin_username:
            _, password = _ensure_admin(agency, admin_username, admin_email)
    return AgencyCreated(
        agency=agency,
        domain=host,
        created=True,
        admin_username=admin_username,
        admin_password=password,
    )


def _ensure_admin(agency: Agency, username: str, email: str | None) -> tuple[bool, str | None]:
    """Create the agency's first administrator with a one-time random password."""
    # The acting platform user (if any) lives in public, not in the agency's schema: the
    # agency's model history must not point at it, so the creation is logged explicitly, in
    # the transaction that creates the user.
    with schema_context(agency.schema_name), disable_auditlog(), transaction.atomic():
        if get_user_model().objects.filter(username=username).exists():
            return False, None
        password = random_password()
        try:
            user_create(
                username=username,
                email=email or "",
                roles=[Role.ADMINISTRATOR],
                password=password,
                source="agency creation",
                logged_as="platform",
            )
        except PeopleError as exc:
            raise AgencyError(str(exc)) from None
    return True, password


def agency_for_slug(slug: str) -> Agency:
    agency: Agency | None = Agency.objects.exclude(schema_name="public").filter(slug=slug).first()
    if agency is None:
        raise AgencyError(f"No agency with the slug {slug!r}.")
    return agency


def platform_ensure(*, domain: str) -> Agency:
    """The public tenant (the platform itself) and its host, created once."""
    host = normalize_hostname(domain)
    with transaction.atomic():
        platform: Agency
        platform, _ = Agency.objects.get_or_create(
            schema_name="public", defaults={"slug": "platform", "name": "ALPR Portal"}
        )
        Domain.objects.get_or_create(domain=host, defaults={"tenant": platform, "is_primary": True})
    return platform


# --- Platform staff's changes to an agency ---------------------------------------------------

# The agency's identity (its schema, and its slug, part of every camera key) never changes;
# policy_updated_at is bookkeeping, set by the change itself.
_NOT_SETTINGS = frozenset({"schema_name", "slug", "policy_updated_at"})


def agency_setting_fields() -> list[str]:
    """Every field platform staff may change: all editable columns but the agency's identity.

    Derived from the model, so a new setting is logged without anyone listing it here.
    """
    return [
        field.name
        for field in Agency._meta.concrete_fields
        if field.editable and not field.primary_key and field.name not in _NOT_SETTINGS
    ]


@dataclass(frozen=True)
class PlatformStaffActor:
    """Platform staff as they appear in an agency's log: by name, without an id.

    Their user row lives in ``public``; its id would name someone else in the agency's schema.
    """

    username: str
    pk: None = None

    def get_username(self) -> str:
        return self.username


def _describe(field: str, value: Any) -> Any:
    if field == "policy_text":
        return {"length": len(value or ""), "default": not value}
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)


def _record_staff_change(
    *,
    agency: Agency,
    staff: User,
    request: HttpRequest | None,
    details: Mapping[str, Any],
) -> None:
    """``settings_changed`` in the agency's log (named, marked as platform staff) and in public's.

    Called inside the change's transaction: switching schemas keeps the same connection.
    """
    username = staff.get_username()
    with schema_context(agency.schema_name):
        record_event(
            action=Action.SETTINGS_CHANGED,
            request=request,
            actor=PlatformStaffActor(username=username),
            objects=[("agency", agency.pk)],
            details={"platform_staff": True, "staff_username": username, **details},
        )
    with schema_context(get_public_schema_name()):
        record_event(
            action=Action.SETTINGS_CHANGED,
            request=request,
            actor=staff,
            objects=[("agency", agency.pk)],
            details={"agency": agency.slug, **details},
        )


def _agency_row_update(
    *, agency: Agency, values: Mapping[str, Any]
) -> tuple[Agency, dict[str, dict[str, Any]]]:
    """Lock the agency's row, apply ``values``, validate (``ValidationError``: nothing saved)
    and save what changed; returns the row and each change, described for the access log.

    Called inside the transaction that also logs the change.
    """
    row = Agency.objects.select_for_update().get(pk=agency.pk)
    before = {field: getattr(row, field) for field in values}
    for field, value in values.items():
        setattr(row, field, value)
    row.full_clean(exclude=["schema_name"], validate_unique=False)
    changed = [field for field in values if getattr(row, field) != before[field]]
    if changed:
        row.policy_updated_at = django_timezone.now()
        row.save(update_fields=[*changed, "policy_updated_at"])
    return row, {
        field: {
            "from": _describe(field, before[field]),
            "to": _describe(field, getattr(row, field)),
        }
        for field in changed
    }


def _show_saved(*, agency: Agency, row: Agency, changed: list[str]) -> None:
    """The caller's instance (often ``request.tenant``) sees the committed values at once."""
    for field in [*changed, "policy_updated_at"]:
        setattr(agency, field, getattr(row, field))


def agency_update_by_staff(
    *,
    agency: Agency,
    changes: Mapping[str, Any],
    staff: User,
    request: HttpRequest | None = None,
) -> list[str]:
    """Platform staff change an agency's settings; returns the names of the fields that changed.

    The row and the agency's access-log entry are written in one transaction. A value the
    model refuses (e.g. retention above 30 days) raises ``ValidationError`` and changes nothing.
    """
    allowed = set(agency_setting_fields())
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"Not an agency setting: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        row, changes_made = _agency_row_update(agency=agency, values=changes)
        if not changes_made:
            return []
        _record_staff_change(
            agency=row, staff=staff, request=request, details={"changes": changes_made}
        )
    _show_saved(agency=agency, row=row, changed=list(changes_made))
    return list(changes_made)


def agency_domains_update(
    *,
    agency: Agency,
    added: Iterable[Domain] = (),
    changed: Iterable[tuple[Domain, list[str]]] = (),
    removed: Iterable[Domain] = (),
    staff: User,
    request: HttpRequest | None = None,
) -> None:
    """Platform staff add, change or remove the agency's hosts; logged like a setting."""
    added, changed, removed = list(added), list(changed), list(removed)
    if not (added or changed or removed):
        return
    with transaction.atomic():
        before = {
            d.pk: (d.domain, d.is_primary)
            for d in Domain.objects.filter(pk__in=[d.pk for d, _ in changed])
        }
        for domain in added:
            domain.tenant = agency
            domain.save()
        for domain, _ in changed:
            domain.save()
        for domain in removed:
            domain.delete()
        _record_staff_change(
            agency=agency,
            staff=staff,
            request=request,
            details={
                "domains": {
                    "added": [d.domain for d in added],
                    "changed": [
                        {"from": before[d.pk][0], "to": d.domain, "primary": d.is_primary}
                        for d, _ in changed
                    ],
                    "removed": [d.domain for d in removed],
                }
            },
        )


# --- An agency's Administrators change its settings ----------------------------------------

# What the agency's own "Agency settings" page edits (tenants/admin.py).
AGENCY_SETTINGS_FIELDS = (
    "retention_days",
    "timezone",
    "require_case_number",
    "purge_hour",
    "disclose_only_to_public_agencies",
    "contact_name",
    "contact_email",
    "policy_text",
)


def validate_retention_days(value: Any) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise ValidationError({"retention_days": RETENTION_LIMIT_MESSAGE}) from None
    if not 1 <= days <= MAX_RETENTION_DAYS:
        raise ValidationError({"retention_days": RETENTION_LIMIT_MESSAGE})
    return days


def normalize_policy(text: str) -> str:
    """The policy as stored: an empty text stands for the default policy."""
    text = (text or "").replace("\r\n", "\n").strip()
    # Saving the untouched default keeps the agency on the default (and its future fixes).
    return "" if text == DEFAULT_POLICY.strip() else text


def agency_settings_update(
    *,
    agency: Agency,
    changes: Mapping[str, Any],
    actor: Any = None,
    request: HttpRequest | None = None,
) -> list[str]:
    """Apply ``changes`` to the agency's settings; record them; return the changed field names.

    The Agency row lives in ``public``; the row and its ``settings_changed`` entry (in the
    agency's schema, the current one) are written in one transaction on the same connection.
    Raises ``ValidationError`` (with a plain message per field) and changes nothing when a
    value is not allowed, e.g. retention above 30 days.
    """
    unknown = set(changes) - set(AGENCY_SETTINGS_FIELDS)
    if unknown:
        raise ValueError(f"Not an agency setting: {', '.join(sorted(unknown))}.")
    values = dict(changes)
    if "retention_days" in values:
        values["retention_days"] = validate_retention_days(values["retention_days"])
    if "policy_text" in values:
        values["policy_text"] = normalize_policy(values["policy_text"])
    with transaction.atomic():
        row, changes_made = _agency_row_update(agency=agency, values=values)
        if not changes_made:
            return []
        record_event(
            action=Action.SETTINGS_CHANGED,
            request=request,
            actor=actor,
            objects=[("agency", agency.pk)],
            details={"changes": changes_made},
        )
    _show_saved(agency=agency, row=row, changed=list(changes_made))
    return list(changes_made)
