"""Agencies (one PostgreSQL schema each) and the hosts they are served at."""

from __future__ import annotations

import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

MAX_RETENTION_DAYS = 30
RETENTION_LIMIT_MESSAGE = (
    f"Retention must be between 1 and {MAX_RETENTION_DAYS} days: the policy does not allow "
    f"keeping captures longer than {MAX_RETENTION_DAYS} days. Enter a number from 1 to "
    f"{MAX_RETENTION_DAYS}."
)

slug_validator = RegexValidator(
    r"^[a-z][a-z0-9-]{1,40}[a-z0-9]$",
    "Use 3 to 42 lowercase letters, digits or hyphens, starting with a letter.",
)


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (e.g. America/Los_Angeles).")


class Agency(TenantMixin):
    """A law-enforcement agency: the unit of data segregation.

    The row with schema ``public`` stands for the platform itself.
    """

    slug = models.SlugField(max_length=42, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    timezone = models.CharField(
        max_length=64, default="America/Los_Angeles", validators=[validate_timezone]
    )
    retention_days = models.PositiveSmallIntegerField(
        default=MAX_RETENTION_DAYS,
        validators=[
            MinValueValidator(1, message=RETENTION_LIMIT_MESSAGE),
            MaxValueValidator(MAX_RETENTION_DAYS, message=RETENTION_LIMIT_MESSAGE),
        ],
        help_text="Captures older than this many days are never shown and are purged nightly (1 to 30).",
    )
    require_case_number = models.BooleanField(
        default=True, help_text="Every plate search must name a case or incident number."
    )
    purge_hour = models.PositiveSmallIntegerField(
        default=3,
        validators=[MaxValueValidator(23)],
        help_text="Hour of the day (agency time) at which the nightly purge runs.",
    )
    disclose_only_to_public_agencies = models.BooleanField(
        default=False,
        help_text=(
            "Releases of plate data go only to public agencies (as California law requires); "
            "the disclosure register refuses any other recipient."
        ),
    )
    contact_name = models.CharField(
        max_length=200, blank=True, help_text="The custodian users are told to ask about access."
    )
    contact_email = models.EmailField(blank=True)
    policy_text = models.TextField(
        blank=True,
        help_text=(
            "The usage and privacy policy published at /policy/. Empty publishes the default "
            "policy. Placeholders such as [retention_days] are filled in from these settings."
        ),
    )
    policy_updated_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the published policy or a setting it states last changed.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    auto_create_schema = True
    auto_drop_schema = False

    class Meta:
        verbose_name_plural = "agencies"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(retention_days__gte=1, retention_days__lte=MAX_RETENTION_DAYS),
                name="agency_retention_1_to_30_days",
            ),
            models.CheckConstraint(
                condition=models.Q(purge_hour__lte=23), name="agency_purge_hour_0_23"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_platform(self) -> bool:
        return self.schema_name == "public"

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class AgencySettings(Agency):
    """The settings an agency's Administrators edit about their own agency (admin page)."""

    class Meta:
        proxy = True
        verbose_name = "agency settings"
        verbose_name_plural = "agency settings"


class Domain(DomainMixin):
    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain
