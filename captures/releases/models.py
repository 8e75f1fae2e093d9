"""The disclosure register and evidence packages, in the agency's schema.

A disclosure names its captures by id (``capture_ids``), not by foreign key: the register
outlives the captures (the purge deletes every row pointing at a capture), so what was
released stays on record after the reads themselves are gone.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class LegalBasis(models.TextChoices):
    SUBPOENA = "subpoena", "Subpoena"
    COURT_ORDER = "court_order", "Court order"
    WARRANT = "warrant", "Warrant"
    PUBLIC_RECORDS = "public_records", "Public-records request"
    OWN_POLICY = "own_policy", "Enforcing the agency's own policy"
    SECURITY_FRAUD = "security_fraud", "Security or fraud"
    EMERGENCY = "emergency", "Emergency involving danger to life"


class ReleasedField(models.TextChoices):
    READING = "reading", "The reading (plate, state, confidence)"
    IMAGES = "images", "Plate and vehicle images"
    CAMERA_LOCATION = "camera_location", "Time, camera and location"
    REVIEW_HISTORY = "review_history", "Review history (who confirmed or corrected it)"
    ACCESS_LOG = "access_log", "Access-log entries about these captures"


ALL_FIELDS = [choice.value for choice in ReleasedField]


class Disclosure(models.Model):
    """One release (or proposed release) of capture data to someone outside the agency."""

    class Status(models.TextChoices):
        PREPARED = "prepared", "Waiting for approval"
        APPROVED = "approved", "Approved"
        REFUSED = "refused", "Refused"

    class Medium(models.TextChoices):
        PACKAGE = "package", "Evidence package (signed ZIP)"
        PRINT = "print", "Printout of a read"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PREPARED)
    medium = models.CharField(max_length=16, choices=Medium.choices, default=Medium.PACKAGE)
    recipient_person = models.CharField(max_length=200)
    recipient_organisation = models.CharField(max_length=200)
    recipient_is_public_agency = models.BooleanField()
    recipient_jurisdiction = models.CharField(
        max_length=2, help_text="The recipient's US state (two letters)."
    )
    legal_basis = models.CharField(max_length=32, choices=LegalBasis.choices)
    requester = models.CharField(
        max_length=200, help_text="Who asked for the data (name and role)."
    )
    case_number = models.CharField(max_length=100)
    justification = models.TextField(help_text="What the release is for, in words.")
    capture_ids = ArrayField(models.UUIDField(), help_text="The captures released.")
    capture_count = models.PositiveIntegerField()
    fields_released = ArrayField(models.CharField(max_length=32, choices=ReleasedField.choices))
    source = models.CharField(
        max_length=200, blank=True, help_text="Where the captures were chosen (search, case)."
    )
    prepared_by_id = models.BigIntegerField()
    prepared_by_username = models.CharField(max_length=150)
    prepared_at = models.DateTimeField(default=timezone.now)
    decided_by_id = models.BigIntegerField(null=True, blank=True)
    decided_by_username = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    refusal_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # The two-person rule, also in the database: nobody decides on their own release.
            models.CheckConstraint(
                condition=Q(decided_by_id__isnull=True) | ~Q(decided_by_id=F("prepared_by_id")),
                name="disclosure_decided_by_another_person",
            ),
            models.CheckConstraint(
                condition=Q(status="prepared", decided_at__isnull=True)
                | (~Q(status="prepared") & Q(decided_at__isnull=False)),
                name="disclosure_decided_when_not_prepared",
            ),
            models.CheckConstraint(
                condition=~Q(status="refused") | ~Q(refusal_reason=""),
                name="disclosure_refusal_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-id"], name="disclosure_status_id"),
            models.Index(fields=["case_number", "-id"], name="disclosure_case_id"),
        ]

    def __str__(self) -> str:
        return f"Disclosure #{self.pk} to {self.recipient_organisation}"

    @property
    def recipient_type(self) -> str:
        return "Public agency" if self.recipient_is_public_agency else "Not a public agency"


class EvidencePackage(models.Model):
    """A signed ZIP built from an approved disclosure by a background task."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        BUILDING = "building", "Building"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    disclosure = models.ForeignKey(Disclosure, on_delete=models.PROTECT, related_name="packages")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=200, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, help_text="Of the whole ZIP file.")
    manifest_sha256 = models.CharField(max_length=64, blank=True)
    signing_key_id = models.CharField(max_length=16, blank=True)
    requested_by_id = models.BigIntegerField()
    requested_by_username = models.CharField(max_length=150)
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Evidence package #{self.pk} of disclosure #{self.disclosure_id}"

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.status == self.Status.READY else 0
        return int(100 * self.done / self.total)
