"""Hotlists, their entries, the hits of reads against them, and the agency's hotlist policy.

All in the agency's schema. A hit copies what it needs of the entry and the read (list, reason,
reference, plates, camera, time), so the record outlives an expired entry and, for a confirmed
hit linked to a case, the capture itself (the purge detaches it; ``purge.hits_release`` then
deletes the hits that are not kept).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from captures.models import Camera, Capture

# The longest an agency's policy may let a typed-in entry live before it must be entered again.
ENTRY_DAYS_CAP = 365


class HotlistPolicy(models.Model):
    """The agency's hotlist rules (one row): typed-in entry lifetime, import tolerance."""

    entry_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(ENTRY_DAYS_CAP)],
        help_text="Default lifetime of an entry typed in by a person, in days.",
    )
    max_entry_days = models.PositiveSmallIntegerField(
        default=90,
        validators=[MinValueValidator(1), MaxValueValidator(ENTRY_DAYS_CAP)],
        help_text="The policy's limit: no typed-in entry may be set to live longer.",
    )
    max_bad_line_percent = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="An import file with a larger share of bad lines is refused as a whole.",
    )
    flag_search_count = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(2)],
        help_text="Flag an agency-entered plate searched this many times or more.",
    )

    class Meta:
        verbose_name = "hotlist policy"
        verbose_name_plural = "hotlist policy"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(entry_days__lte=models.F("max_entry_days")),
                name="hotlist_policy_default_within_limit",
            )
        ]

    def __str__(self) -> str:
        return f"Typed-in entries: {self.entry_days} days (at most {self.max_entry_days})"

    def clean(self) -> None:
        if self.entry_days and self.max_entry_days and self.entry_days > self.max_entry_days:
            raise ValidationError(
                {"entry_days": "The default lifetime cannot be longer than the policy's limit."}
            )

    @classmethod
    def current(cls) -> HotlistPolicy:
        policy = cls.objects.order_by("pk").first()
        return policy if policy is not None else cls()


class Hotlist(models.Model):
    class Kind(models.TextChoices):
        EXTRACT = "extract", "State/NCIC extract (imported from a file)"
        AGENCY = "agency", "Agency entries (typed in by people)"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.AGENCY)
    owner = models.CharField(
        max_length=150, help_text="Who keeps this list (a unit, or the state's NCIC contact)."
    )
    alerts = models.BooleanField(default=True, help_text="Hits of this list alert officers.")
    active = models.BooleanField(default=True, help_text="Reads are matched against it.")
    created_at = models.DateTimeField(auto_now_add=True)
    imported_at = models.DateTimeField(null=True, blank=True, editable=False)
    imported_by_username = models.CharField(max_length=150, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Reason(models.TextChoices):
    STOLEN_VEHICLE = "stolen_vehicle", "Stolen vehicle"
    STOLEN_PLATE = "stolen_plate", "Stolen plate"
    WANTED_PERSON = "wanted_person", "Wanted person"
    MISSING_PERSON = "missing_person", "Missing person"
    AMBER_ALERT = "amber_alert", "AMBER alert"
    PROTECTIVE_ORDER = "protective_order", "Protective order"
    BOLO = "bolo", "BOLO"
    OTHER = "other", "Other"


class HotlistEntry(models.Model):
    """One wanted plate. Matched on ``match_key`` (the exact plate has the same key)."""

    # No index of its own: an import's one index to maintain per row is the match key's.
    hotlist = models.ForeignKey(
        Hotlist, on_delete=models.CASCADE, related_name="entries", db_index=False
    )
    plate = models.CharField(max_length=16)
    match_key = models.CharField(max_length=16)
    state = models.CharField(max_length=2, blank=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    reference = models.CharField(max_length=40, blank=True, help_text="e.g. the NCIC number")
    notes = models.TextField(blank=True)
    # Typed in by a person: the purpose, as checked and logged.
    purpose_category = models.CharField(max_length=100, blank=True)
    purpose_text = models.TextField(blank=True)
    case_number = models.CharField(max_length=100, blank=True)
    entered_by_id = models.BigIntegerField(null=True, blank=True)
    entered_by_username = models.CharField(max_length=150, blank=True)
    entered_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    reentered_after_expiry = models.BooleanField(default=False)

    class Meta:
        ordering = ["-entered_at"]
        verbose_name_plural = "hotlist entries"
        # One index: matching looks up the match key (an exact plate has the same key), and
        # every other index would slow a 1,000,000-entry import. The nightly purge and the
        # import's replacement scan the table (seconds at a million rows, once a night).
        indexes = [models.Index(fields=["match_key"], name="hotlist_entry_match_key")]

    def __str__(self) -> str:
        return f"Hotlist entry {self.pk}"


class Hit(models.Model):
    """A read that matched an entry; an alert when its list alerts officers."""

    class Rule(models.TextChoices):
        EXACT = "exact", "Exact plate"
        MATCH_KEY = "match_key", "Similar characters (equal match key)"
        LOOK_ALIKE = "look_alike", "Look-alike glyph (the read's L may be a 4)"

    class Source(models.TextChoices):
        CAMERA = "camera", "Camera's read at ingest"
        SERVER = "server", "Server's reading"
        REVIEW = "review", "Correction in review"

    class Status(models.TextChoices):
        NEW = "new", "New"
        CONFIRMED = "confirmed", "Confirmed match"
        MISREAD = "misread", "Misread"
        STATE_MISMATCH = "state_mismatch", "State mismatch"
        ENTRY_INVALID = "entry_invalid", "Entry no longer valid"

    class ActOutcome(models.TextChoices):
        LOCATED = "vehicle_located", "Vehicle located"
        STOP = "stop_made", "Stop made"
        ARREST = "arrest", "Arrest"
        RECOVERED = "vehicle_recovered", "Vehicle recovered"
        NO_ACTION = "no_action", "No action"

    capture = models.ForeignKey(
        Capture, null=True, blank=True, on_delete=models.SET_NULL, related_name="hotlist_hits"
    )
    entry = models.ForeignKey(
        HotlistEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="hits"
    )
    hotlist = models.ForeignKey(
        Hotlist, null=True, blank=True, on_delete=models.SET_NULL, related_name="hits"
    )
    hotlist_name = models.CharField(max_length=100)
    alerts = models.BooleanField(default=True)
    rule = models.CharField(max_length=16, choices=Rule.choices)
    source = models.CharField(max_length=16, choices=Source.choices)
    read_plate = models.CharField(max_length=16)
    read_state = models.CharField(max_length=2, blank=True)
    read_confidence = models.FloatField(null=True, blank=True)
    entry_plate = models.CharField(max_length=16)
    entry_state = models.CharField(max_length=2, blank=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    reference = models.CharField(max_length=40, blank=True)
    notes = models.TextField(blank=True)
    entry_case_number = models.CharField(max_length=100, blank=True)
    entry_purpose_category = models.CharField(max_length=100, blank=True)
    camera = models.ForeignKey(
        Camera, null=True, blank=True, on_delete=models.SET_NULL, related_name="hotlist_hits"
    )
    camera_name = models.CharField(max_length=120, blank=True)
    captured_at = models.DateTimeField()
    matched_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    decided_by_id = models.BigIntegerField(null=True, blank=True)
    decided_by_username = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    outcome = models.CharField(max_length=20, choices=ActOutcome.choices, blank=True)
    case_number = models.CharField(max_length=100, blank=True)
    acted_by_username = models.CharField(max_length=150, blank=True)
    acted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-matched_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["capture", "entry"], name="hit_once_per_capture_entry")
        ]
        indexes = [
            models.Index(fields=["alerts", "status", "-id"], name="hit_alert_queue"),
            models.Index(fields=["matched_at"], name="hit_matched_at"),
        ]

    def __str__(self) -> str:
        return f"Hit {self.pk}"

    @property
    def kept(self) -> bool:
        """Confirmed and linked to a case: the record outlives the capture (not its images)."""
        return self.status == self.Status.CONFIRMED and bool(self.case_number)


class ReadTally(models.Model):
    """Reads matched per UTC day, counted before the purge removes them (for the reports)."""

    day = models.DateField(unique=True)
    reads = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.day}: {self.reads} reads"
