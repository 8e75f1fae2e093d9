"""Alerts go with their capture at the retention purge, except confirmed hits linked to a
case: those keep their record (no images) and stay visible to officers as records."""

from __future__ import annotations

from django.urls import reverse
from django_tenants.utils import schema_context

from captures.alerts.selectors import alert_queue
from captures.hotlists.models import Hit
from captures.hotlists.purge import hotlists_purge
from captures.retention.services import purge_expired
from tests.factories import make_camera, make_stored_capture, unused_expired_day


def hit_of(agency, capture, **fields):
    with schema_context(agency.schema_name):
        return Hit.objects.create(
            capture=capture,
            hotlist_name="Purge list",
            rule="exact",
            source="camera",
            read_plate=capture.plate,
            entry_plate=capture.plate,
            reason="stolen_vehicle",
            captured_at=capture.captured_at,
            camera_name="cam",
            **fields,
        )


def test_the_purge_deletes_hits_with_their_capture_but_keeps_confirmed_case_records(
    agency_a, officer_client_a
):
    camera = make_camera(agency_a)
    noon = unused_expired_day(agency_a)
    kept_capture = make_stored_capture(agency_a, camera, captured_at=noon)
    gone_capture = make_stored_capture(agency_a, camera, captured_at=noon)
    kept = hit_of(agency_a, kept_capture, status="confirmed", outcome="arrest", case_number="C-1")
    confirmed_no_case = hit_of(agency_a, gone_capture, status="confirmed")
    new = hit_of(agency_a, gone_capture)
    purge_expired(agency=agency_a)
    with schema_context(agency_a.schema_name):
        hotlists_purge()
        left = list(Hit.objects.filter(pk__in=[kept.pk, confirmed_no_case.pk, new.pk]))
        queue = set(alert_queue(agency_a).values_list("pk", flat=True))
    assert [(h.pk, h.capture_id, h.case_number) for h in left] == [(kept.pk, None, "C-1")]
    assert kept.pk in queue
    page = officer_client_a.get(reverse("captures:alert", kwargs={"hit_id": kept.pk}))
    assert "keeps only its record" in page.content.decode()
    image = reverse("captures:alert-image", kwargs={"hit_id": kept.pk, "kind": "plate"})
    assert officer_client_a.get(image).status_code == 404
