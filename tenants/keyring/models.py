"""Per-schema keys stored wrapped by the master key (in every schema, public included)."""

from __future__ import annotations

from django.db import models


class SchemaKey(models.Model):
    """A random 256-bit key of this schema for one purpose (e.g. backup-code digests).

    Stored only wrapped (AES-256-GCM) by the master key named by ``master_key_id``; rotating the
    master key re-wraps this row, so whatever was computed with the key stays valid.
    """

    purpose = models.CharField(max_length=40, unique=True)
    wrapped_key = models.BinaryField(editable=False)
    master_key_id = models.CharField(max_length=16, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    rewrapped_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["purpose"]

    def __str__(self) -> str:
        return f"{self.purpose} key (master key {self.master_key_id})"
