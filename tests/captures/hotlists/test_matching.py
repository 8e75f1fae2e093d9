"""Every read is matched against the active, unexpired entries: at ingest (the camera's read),
when the worker stores the server's reading, and on a correction in review."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from captures.hotlists.matching import entries_matching, match_read
from captures.hotlists.models import Hit, Hotlist, HotlistEntry, Reason
from captures.ingest.services import capture_ingest
from captures.reading.matching import match_key
from captures.reading.result import PlateReading
from captures.reading.services import capture_store_reading
from captures.review.services import review_correct
from tests.factories import image_bytes, ingest_capture, make_capture, make_user, unique
from tests.support import version_of


def make_list(agency, *, kind=Hotlist.Kind.EXTRACT, alerts=True, active=True, name=None):
    with schema_context(agency.schema_name):
        return Hotlist.objects.create(
            name=name or unique("List "), kind=kind, owner="test", alerts=alerts, active=active
        )


def make_entry(agency, hotlist, plate, *, state="", expires_at=None, reason=Reason.STOLEN_VEHICLE):
    with schema_context(agency.schema_name):
        return HotlistEntry.objects.create(
            hotlist=hotlist,
            plate=plate,
            match_key=match_key(plate),
            state=state,
            reason=reason,
            reference="V" + plate,
            notes="test entry",
            expires_at=expires_at,
        )


def _reading(plate, confidence, state=None):
    return PlateReading(
        plate=plate,
        confidence=confidence,
        state=state,
        state_confidence=0.7 if state else None,
        box=None,
        model="test",
        ms=1.0,
    )


@pytest.fixture
def plate():
    return unique("H")[-7:].upper().replace("_", "X")


def test_exact_plate_matches_with_rule_exact(agency_a, plate):
    entry = make_entry(agency_a, make_list(agency_a), plate)
    with schema_context(agency_a.schema_name):
        matches = entries_matching(plate=plate, state="CA")
    assert [(m.entry_id, m.rule) for m in matches] == [(entry.pk, "exact")]


def test_confusable_characters_match_by_match_key():
    # 8 for B, 0 for O: equal match keys, different plates.
    assert match_key("B0X123") == match_key("8OX123")


def test_similar_plate_matches_with_rule_match_key(agency_a):
    entry = make_entry(agency_a, make_list(agency_a), "B0X4271")
    with schema_context(agency_a.schema_name):
        matches = entries_matching(plate="8OX4271")
    assert [(m.entry_id, m.rule) for m in matches] == [(entry.pk, "match_key")]


def test_a_read_l_matches_an_open_top_four_with_rule_look_alike(agency_a):
    # The reader takes California's open-top 4 for an L: the stolen 4KBZ265 read as LKBZ265.
    hotlist = make_list(agency_a)
    four = make_entry(agency_a, hotlist, "4KBZ265", state="CA")
    ell = make_entry(agency_a, hotlist, "LKBZ265")
    with schema_context(agency_a.schema_name):
        read_l = {m.entry_id: m.rule for m in entries_matching(plate="LKBZ265", state="CA")}
        read_4 = {m.entry_id: m.rule for m in entries_matching(plate="4KBZ265", state="CA")}
        read_1 = entries_matching(plate="1KBZ265", state="CA")
    assert read_l == {four.pk: "look_alike", ell.pk: "exact"}
    # Only in the reader's direction, and a 1 is not a 4.
    assert read_4 == {four.pk: "exact"}
    assert [(m.entry_id, m.rule) for m in read_1] == [(ell.pk, "match_key")]


def test_a_look_alike_hit_is_an_alert_marked_similar(agency_a):
    from captures.alerts.selectors import alert_rows

    hotlist = make_list(agency_a)
    make_entry(agency_a, hotlist, "4NZZ935")
    capture = make_capture(agency_a, plate="LNZZ935")
    with schema_context(agency_a.schema_name):
        (hit,) = match_read(
            capture=capture,
            plate="LNZZ935",
            state="",
            confidence=0.99,
            source=Hit.Source.SERVER,
        )
        assert (hit.rule, hit.entry_plate, hit.read_plate) == ("look_alike", "4NZZ935", "LNZZ935")
        assert hit.get_rule_display() == "Look-alike glyph (the read's L may be a 4)"
        (row,) = alert_rows(Hit.objects.filter(pk=hit.pk))
    assert row["similar"] is True


def test_state_is_compared_only_when_both_sides_have_one(agency_a, plate):
    hotlist = make_list(agency_a)
    with_state = make_entry(agency_a, hotlist, plate, state="CA")
    with schema_context(agency_a.schema_name):
        assert entries_matching(plate=plate, state="NV") == []
        assert [m.entry_id for m in entries_matching(plate=plate, state="")] == [with_state.pk]
        assert [m.entry_id for m in entries_matching(plate=plate, state="CA")] == [with_state.pk]


def test_expired_entries_and_inactive_lists_never_match(agency_a, plate):
    now = timezone.now()
    make_entry(agency_a, make_list(agency_a), plate, expires_at=now - datetime.timedelta(seconds=1))
    make_entry(agency_a, make_list(agency_a, active=False), plate)
    live = make_entry(
        agency_a, make_list(agency_a), plate, expires_at=now + datetime.timedelta(hours=1)
    )
    with schema_context(agency_a.schema_name):
        assert [m.entry_id for m in entries_matching(plate=plate, now=now)] == [live.pk]
        later = now + datetime.timedelta(hours=1, seconds=1)
        assert entries_matching(plate=plate, now=later) == []


def test_another_agencys_entries_do_not_match(agency_a, agency_b, plate):
    make_entry(agency_b, make_list(agency_b), plate)
    with schema_context(agency_a.schema_name):
        assert entries_matching(plate=plate) == []


def test_ingest_records_a_hit_of_the_cameras_read_in_the_same_transaction(
    agency_a, camera_a, plate
):
    entry = make_entry(agency_a, make_list(agency_a), plate, state="CA")
    with schema_context(agency_a.schema_name):
        capture = capture_ingest(
            camera=camera_a.camera,
            agency=agency_a,
            plate_image=image_bytes(plate),
            captured_at=timezone.now() - datetime.timedelta(seconds=5),
            edge_plate=plate.lower(),
            edge_state="ca",
            edge_confidence=0.81,
            enqueue=False,
        ).capture
        hit = Hit.objects.get(capture=capture)
    assert (hit.entry_id, hit.source, hit.rule, hit.read_plate) == (
        entry.pk,
        "camera",
        "exact",
        plate,
    )
    assert hit.read_confidence == pytest.approx(0.81)
    assert hit.camera_name == camera_a.camera.name


def test_server_reading_matches_once_per_entry(agency_a, camera_a, plate):
    entry = make_entry(agency_a, make_list(agency_a), plate)
    capture = ingest_capture(
        agency_a,
        camera_a,
        text=plate,
        age=datetime.timedelta(seconds=5),
        edge_plate=plate,
        enqueue=False,
    )
    with schema_context(agency_a.schema_name):
        reading = _reading(plate, 0.93, state="CA")
        capture_store_reading(capture_id=capture.pk, reading=reading)
        hits = list(Hit.objects.filter(capture=capture))
    assert [(h.entry_id, h.source) for h in hits] == [(entry.pk, "camera")]


def test_server_reading_of_another_plate_records_its_own_hit(agency_a, camera_a, plate):
    entry = make_entry(agency_a, make_list(agency_a), plate)
    with schema_context(agency_a.schema_name):
        capture = capture_ingest(
            camera=camera_a.camera,
            agency=agency_a,
            plate_image=image_bytes(plate),
            captured_at=timezone.now() - datetime.timedelta(seconds=5),
            edge_plate="ZZZ" + plate[:3],
            enqueue=False,
        ).capture
        assert not Hit.objects.filter(capture=capture).exists()
        capture_store_reading(capture_id=capture.pk, reading=_reading(plate, 0.9))
        hit = Hit.objects.get(capture=capture)
    assert (hit.entry_id, hit.source, hit.read_confidence) == (entry.pk, "server", 0.9)


def test_a_correction_in_review_is_matched(agency_a, plate):
    entry = make_entry(agency_a, make_list(agency_a), plate)
    capture = make_capture(agency_a, plate="QQQ111", state="")
    reviewer = make_user(agency_a)
    with schema_context(agency_a.schema_name):
        review_correct(
            agency=agency_a,
            capture_id=capture.pk,
            user=reviewer,
            version=version_of(agency_a, capture),
            plate=plate,
            state="",
        )
        hit = Hit.objects.get(capture=capture)
    assert (hit.entry_id, hit.source) == (entry.pk, "review")


def test_a_list_that_does_not_alert_still_records_hits(agency_a, plate):
    make_entry(agency_a, make_list(agency_a, alerts=False), plate)
    capture = make_capture(agency_a, plate=plate)
    with schema_context(agency_a.schema_name):
        hits = match_read(
            capture=capture, plate=plate, state="", confidence=0.5, source=Hit.Source.SERVER
        )
    assert [hit.alerts for hit in hits] == [False]


def test_the_lookup_uses_the_match_key_index(agency_a):
    from django.db import connection

    with schema_context(agency_a.schema_name), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        # The lookup itself, with a read's own key and a look-alike key in one array.
        from captures.hotlists.matching import _LOOKUP

        cursor.execute("EXPLAIN " + _LOOKUP, [["1K8Z265", "4K8Z265"], timezone.now()])
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "hotlist_entry_match_key" in plan


def test_the_prepared_lookup_follows_the_schema(agency_a, agency_b, plate):
    """The lookup is a prepared statement; switching agencies on one connection re-plans it
    for the new schema (PostgreSQL re-parses a statement when search_path changes)."""
    entry_b = make_entry(agency_b, make_list(agency_b), plate)
    for _ in range(3):
        with schema_context(agency_a.schema_name):
            assert entries_matching(plate=plate) == []
        with schema_context(agency_b.schema_name):
            assert [m.entry_id for m in entries_matching(plate=plate)] == [entry_b.pk]
