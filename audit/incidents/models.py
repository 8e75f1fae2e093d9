"""Incidents, their affected-data lists and the notifications they require (agency schema)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Incident(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    title = models.CharField(max_length=200)
    description = models.TextField(help_text="What happened, as far as it is known.")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    suspected_accounts = models.JSONField(default=list, blank=True)
    suspected_addresses = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField(default=timezone.now)
    opened_by_id = models.BigIntegerField(null=True, blank=True)
    opened_by_username = models.CharField(max_length=150)
    updated_at = models.DateTimeField(default=timezone.now)
    computed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by_username = models.CharField(max_length=150, blank=True)
    closing_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]

    def __str__(self) -> str:
        return f"Incident {self.pk}: {self.title}"

    @property
    def reference(self) -> str:
        """How the access log names the incident (as a case number)."""
        return f"INC-{self.pk}"


class AffectedItem(models.Model):
    """One thing the suspected accounts or addresses saw: a capture, a plate searched, an
    export. Computed items name the access-log entry; removed items stay, with the note."""

    class Kind(models.TextChoices):
        CAPTURE = "capture", "Capture seen"
        SEARCH = "search", "Plate searched"
        EXPORT = "export", "Export"
        OTHER = "other", "Other"

    class Source(models.TextChoices):
        COMPUTED = "computed", "From the access log"
        MANUAL = "manual", "Added by hand"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    source = models.CharField(max_length=8, choices=Source.choices)
    event_id = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    capture_id = models.CharField(max_length=64, blank=True)
    plate = models.CharField(max_length=16, blank=True)
    state = models.CharField(max_length=2, blank=True)
    description = models.CharField(max_length=300, blank=True)
    note = models.TextField(blank=True)
    added_at = models.DateTimeField(default=timezone.now)
    added_by_username = models.CharField(max_length=150, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by_username = models.CharField(max_length=150, blank=True)
    removed_note = models.TextField(blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["incident", "event_id"], name="affecteditem_event")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} (incident {self.incident_id})"

    def key(self) -> tuple[object, ...]:
        return (self.event_id, self.kind, self.capture_id, self.plate)


class Notification(models.Model):
    """Someone who must be told: a person, the state, an agency whose data was involved."""

    class RecipientKind(models.TextChoices):
        PERSON = "person", "Person affected"
        STATE = "state", "The state"
        AGENCY = "agency", "Agency whose data was involved"
        OTHER = "other", "Other"

    class Method(models.TextChoices):
        EMAIL = "email", "E-mail"
        LETTER = "letter", "Letter"
        PHONE = "phone", "Telephone"
        IN_PERSON = "in_person", "In person"
        PORTAL = "portal", "State portal or form"
        OTHER = "other", "Other"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notifications")
    recipient_kind = models.CharField(max_length=8, choices=RecipientKind.choices)
    recipient = models.CharField(max_length=200)
    contact = models.CharField(max_length=300, blank=True)
    responsible = models.CharField(max_length=150, help_text="Who in the agency notifies them.")
    due_on = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    method = models.CharField(max_length=10, choices=Method.choices, blank=True)
    done_note = models.TextField(blank=True)
    done_by_username = models.CharField(max_length=150, blank=True)
    last_reminded_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return f"Notify {self.recipient} by {self.due_on:%Y-%m-%d}"
