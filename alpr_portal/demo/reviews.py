"""Demo step 3, reviewed reads: some captures read by the real plate reader in-process, and an
officer's review session that confirmed those the camera's own reading agrees with.

So the demo opens with reads in every state (confirmed, waiting for review, still queued for
the worker) and the confidences the reader really gave. The rest are read by the worker once
``make demo`` starts it (their queued tasks skip the ones read here).
"""

from __future__ import annotations

from io import TextIOBase

from django.contrib.auth import get_user_model
from django_tenants.utils import schema_context

from captures.models import AuthorizedPurpose, Capture
from captures.reading.services import capture_read
from captures.review.selectors import review_version
from captures.review.services import review_confirm, review_session_start
from tenants.models import Agency

from .cameras import DEMO_PREFIX

DEMO_READ = 12  # captures read in-process while seeding (the worker reads the rest)
SESSION_TEXT = "Weekly quality check of the downtown cameras' reads"


def seed(*, agency: Agency, stdout: TextIOBase) -> None:
    with schema_context(agency.schema_name):
        demo = Capture.objects.filter(camera__name__startswith=f"{DEMO_PREFIX}: ")
        if demo.filter(reviews__isnull=False).exists():
            stdout.write("Reviewed reads: already there.")
            return
        officer = get_user_model().objects.filter(username="officer").first()
        purpose = AuthorizedPurpose.objects.filter(use=AuthorizedPurpose.Use.REVIEW).first()
        pending = list(
            demo.filter(status=Capture.Status.PENDING)
            .order_by("captured_at")
            .values_list("pk", flat=True)[:DEMO_READ]
        )
        for capture_id in pending:
            capture_read(capture_id=str(capture_id), last_attempt=True)
        if officer is None or purpose is None or not pending:
            stdout.write(f"Reviewed reads: {len(pending)} read, none reviewed.")
            return
        session = review_session_start(
            agency=agency, user=officer, purpose=purpose, purpose_text=SESSION_TEXT, case_number=""
        ).event
        confirmed = 0
        agreeing = demo.filter(pk__in=pending, status=Capture.Status.READ).exclude(edge_plate="")
        for capture in agreeing:
            if capture.machine_plate != capture.edge_plate:
                continue
            review_confirm(
                agency=agency,
                capture_id=capture.pk,
                user=officer,
                version=review_version(capture),
                related_event_id=session.pk,
            )
            confirmed += 1
    stdout.write(
        f"Reviewed reads: {len(pending)} read by the plate reader, {confirmed} confirmed by the "
        "officer in a review session."
    )
