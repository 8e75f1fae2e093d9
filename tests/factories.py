"""Test data builders: users, cameras, captures, images and plates, access-log entries, forms.

Every builder of the suite lives here (fixtures stay in the conftest files; signing in and
looking at results are in tests/support.py). Rows of an agency are made inside its schema.
"""

from __future__ import annotations

import datetime
import io
import itertools
import random
import uuid
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from django_tenants.utils import schema_context
from PIL import Image, ImageDraw, ImageFont

from audit.models import Action, Outcome
from audit.services import record_backdated_event, record_event
from tenants.models import Agency
from tenants.people.models import TrainingRecord
from tenants.people.roles import Role, assign_roles

DEFAULT_PASSWORD = "correct-horse-battery-staple-42"
_counter = itertools.count(1)


def unique(prefix: str) -> str:
    """A name no other call of this run returns (tests that commit add a random part)."""
    return f"{prefix}{next(_counter)}"


# --- People ------------------------------------------------------------------------------


def make_user(
    agency: Agency,
    *,
    username: str | None = None,
    roles: Iterable[Role] = (Role.OFFICER,),
    password: str = DEFAULT_PASSWORD,
    is_active: bool = True,
    trained: bool = True,
):
    """A user of ``agency`` holding ``roles``, with current initial training unless told not.

    Made directly, not through ``user_create``: most tests must not find a ``user_created``
    entry in the log they examine; the service has tests of its own.
    """
    username = username or unique("user")
    with schema_context(agency.schema_name):
        user = get_user_model().objects.create_user(
            username=username,
            email=f"{username}@{agency.slug}.invalid",
            password=password,
            is_active=is_active,
            is_staff=Role.ADMINISTRATOR in set(roles),
        )
        assign_roles(user, roles)
        if trained:
            TrainingRecord.objects.create(
                user=user,
                kind=TrainingRecord.Kind.INITIAL,
                completed_on=timezone.localdate() - datetime.timedelta(days=30),
                trainer="Training Unit",
            )
    return user


def make_platform_staff(*, username: str | None = None, password: str = DEFAULT_PASSWORD):
    """A platform staff member (a user of the public schema, ``is_staff``), no second factor yet."""
    with schema_context("public"):
        user = get_user_model().objects.create_user(
            username=username or unique("staff"),
            password=password,
            is_staff=True,
        )
    return user


def make_support_grant(
    agency: Agency,
    *,
    staff,
    scope: str = "settings",
    hours: int = 4,
    admin=None,
    reason: str = "Ticket 1234: cameras stopped uploading",
):
    """A support grant of ``agency`` to platform ``staff``, made by one of its Administrators
    through the service (``admin``, or a new one); returns the grant."""
    from tenants.support.services import grant_create

    admin = admin or make_user(agency, roles=[Role.ADMINISTRATOR])
    training = timezone.localdate() - datetime.timedelta(days=10) if scope == "read_only" else None
    with schema_context(agency.schema_name):
        return grant_create(
            actor=admin,
            platform_username=staff.get_username(),
            scope=scope,
            reason=reason,
            hours=hours,
            training_completed_on=training,
        )


# --- Cameras and captures ----------------------------------------------------------------

# Cameras of the retention tests: ``support.mine()`` finds their captures among rows other
# tests committed in the same agency.
RETENTION_CAMERA = "Retention cam "


def make_camera(
    agency: Agency,
    *,
    name: str | None = None,
    prefix: str = "Camera ",
    latitude=34.05,
    longitude=-118.25,
    **extra,
):
    """A camera of ``agency`` (its API key is not usable: tests of the API set their own)."""
    from captures.models import Camera

    name = name or f"{prefix}{uuid.uuid4().hex[:10]}"
    with schema_context(agency.schema_name):
        return Camera.objects.create(
            name=name,
            latitude=latitude,
            longitude=longitude,
            key_prefix=uuid.uuid4().hex[:16],  # unique across runs (browser tests commit)
            key_hash="0" * 64,
            **extra,
        )


def make_capture(
    agency: Agency,
    *,
    camera=None,
    plate: str = "7ABC123",
    state: str = "CA",
    captured_at: datetime.datetime | None = None,
    confidence: float | None = 0.9,
    review_status: str = "unconfirmed",
    **extra,
):
    """A read capture of ``agency`` as the recognizer would leave it (no image bytes stored)."""
    from captures.models import Capture
    from captures.reading.matching import match_key

    camera = camera or make_camera(agency)
    captured_at = captured_at or timezone.now() - datetime.timedelta(hours=1)
    fields = {
        "camera": camera,
        "captured_at": captured_at,
        "latitude": camera.latitude,
        "longitude": camera.longitude,
        "plate_image": f"test/{unique('plate')}.bin",
        "vehicle_image": f"test/{unique('vehicle')}.bin",
        "key_day": captured_at.date(),
        "status": "read",
        "machine_plate": plate,
        "machine_state": state,
        "machine_confidence": confidence,
        "plate": plate,
        "state": state,
        "match_key": match_key(plate),
        "review_status": review_status,
        "read_at": captured_at,
    }
    fields.update(extra)
    with schema_context(agency.schema_name):
        return Capture.objects.create(**fields)


def make_stored_capture(
    agency: Agency,
    camera,
    *,
    captured_at: datetime.datetime,
    plate: str | None = None,
    with_files: bool = True,
    reviewed: bool = False,
):
    """A read capture with an encrypted plate and vehicle image stored under its UTC day
    (what the purge deletes), optionally confirmed by a reviewer."""
    from captures.models import Capture, Review
    from captures.storage import image_files as storage

    plate = plate or unique("RT")[:8].upper()
    day = captured_at.astimezone(datetime.UTC).date()
    with schema_context(agency.schema_name):
        names = (
            [
                storage.store_image(day=day, data=plate_png(plate)),
                storage.store_image(day=day, data=plate_png(plate) + b"vehicle"),
            ]
            if with_files
            else ["", ""]
        )
        capture = Capture.objects.create(
            camera=camera,
            captured_at=captured_at,
            received_at=captured_at,
            latitude=45.5,
            longitude=-122.6,
            plate_image=names[0],
            vehicle_image=names[1],
            key_day=day,
            status=Capture.Status.READ,
            machine_plate=plate,
            plate=plate,
            match_key=plate,
            state="OR",
        )
        if reviewed:
            Review.objects.create(
                capture=capture,
                action=Review.Action.CONFIRM,
                reviewer_id=1,
                reviewer_username="reviewer",
                plate_before=plate,
                plate_after=plate,
            )
    return capture


def unused_expired_day(agency: Agency) -> datetime.datetime:
    """Noon of an expired UTC day that has no data key yet: committed keys outlive the test."""
    from captures.models import DataKey

    today = datetime.datetime.now(datetime.UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    with schema_context(agency.schema_name):
        used = set(DataKey.objects.values_list("day", flat=True))
    for days_old in range(400, 4000):  # far from the days the other tests use
        candidate = today - datetime.timedelta(days=days_old)
        if candidate.date() not in used:
            return candidate
    raise AssertionError("no free day left")


def make_expired_set(agency: Agency, count: int, *, reviewed_every: int = 3):
    """A retention camera and ``count`` stored captures of one expired day of its own, every
    ``reviewed_every``-th reviewed; returns ``(camera, captures)``. For tests that commit."""
    camera = make_camera(agency, prefix=RETENTION_CAMERA)
    noon = unused_expired_day(agency)
    captures = [
        make_stored_capture(
            agency,
            camera,
            captured_at=noon + datetime.timedelta(seconds=i),
            reviewed=i % reviewed_every == 0,
        )
        for i in range(count)
    ]
    return camera, captures


def ingest_capture(
    agency: Agency,
    camera,
    *,
    text: str = "VIEW123",
    vehicle: bool = False,
    age: datetime.timedelta = datetime.timedelta(minutes=1),
    **options: Any,
):
    """A capture stored through ``capture_ingest`` (encrypted images, not yet read) from
    ``camera`` (a ``CameraWithKey``); ``options`` go to ``capture_ingest`` (``edge_plate``,
    ``enqueue``...)."""
    from captures.ingest.services import capture_ingest

    with schema_context(agency.schema_name):
        return capture_ingest(
            camera=camera.camera,
            agency=agency,
            plate_image=image_bytes(text),
            vehicle_image=image_bytes(text, fmt="JPEG") if vehicle else None,
            captured_at=timezone.now() - age,
            **options,
        ).capture


# --- Images and plates -------------------------------------------------------------------


def image_bytes(text: str = "ABC1234", *, fmt: str = "PNG", seed: int = 1, **save) -> bytes:
    """A plate drawn by the one renderer (``captures.synthetic.plates``), encoded as ``fmt``."""
    from captures.synthetic.plates import render_plate

    image = render_plate(random.Random(seed), text=text, clean=True).image
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def plate_png(text: str) -> bytes:
    """A small PNG with ``text`` on it: image bytes that only need to be stored, not read."""
    image = Image.new("RGB", (120, 40), "white")
    ImageDraw.Draw(image).text((8, 12), text, fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def draw_plate(
    text: str,
    *,
    state_name: str = "",
    size: tuple[int, int] = (300, 150),
    font_size: int = 62,
) -> Image.Image:
    """A plate for the reading tests, from the one renderer in its held-out design (a face
    and layout the recognizer never trained on); ``""`` gives the blank plate."""
    from captures.synthetic.plates import render_plate

    return render_plate(
        random.Random(0),
        text=text,
        state_name=state_name,
        size=size,
        main_font=ImageFont.load_default(size=font_size) if text else None,
        design="held-out",
    ).image


def draw_words(text: str, *, size: int = 40, pad: int = 8) -> Image.Image:
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = font.getbbox(text)
    img = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 235)
    ImageDraw.Draw(img).text((pad - left, pad - top), text, font=font, fill=25)
    return img


# --- Searches, purposes and access-log entries -------------------------------------------

REVIEW_PURPOSE = "Quality review of computer reads"


def purpose_id(agency: Agency, name: str = "Stolen vehicle") -> int:
    from captures.models import AuthorizedPurpose

    with schema_context(agency.schema_name):
        return AuthorizedPurpose.objects.get(name=name).pk


def search_data(agency: Agency, **overrides) -> dict:
    """A POST body of an acceptable search (times in the agency's zone), overridable per field."""
    now = timezone.now().astimezone(agency.tz)
    data = {
        "plate": "7ABC123",
        "state": "",
        "start": (now - datetime.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
        "end": (now + datetime.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"),
        "include_unconfirmed": "on",
        "purpose": purpose_id(agency),
        "case_number": "2026-004512",
        "purpose_text": "Grey Honda Civic reported stolen on Main St",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def search_event(
    user,
    *,
    plate: str = "ABC1234",
    outcome: str = Outcome.ALLOWED,
    reason: str = "",
    purpose_category: str = "stolen_vehicle",
    purpose_text: str = "Stolen vehicle report from the owner",
    case_number: str = "24-000123",
    at: datetime.datetime | None = None,
    **extra: Any,
):
    """An access-log search entry in the shape the search records (backdated with ``at``)."""
    kwargs: dict[str, Any] = {
        "action": Action.SEARCH,
        "actor": user,
        "outcome": outcome,
        "reason": reason,
        "purpose_category": purpose_category,
        "purpose_text": purpose_text,
        "case_number": case_number,
        "query": {
            "plate": plate,
            "state": "CA",
            "from": "2026-11-01",
            "to": "2026-11-28",
            "cameras": [1, 2],
            "include_unconfirmed": False,
            "similar": False,
        },
        "details": {"result_count": 3},
        **extra,
    }
    if at is not None:
        return record_backdated_event(occurred_at=at, **kwargs)
    return record_event(**kwargs)


# --- Legal holds and incidents -----------------------------------------------------------


def make_hold(
    agency: Agency,
    captures,
    *,
    case_number: str = "2026-CR-0042",
    reason: str = "Preserve for trial",
    authority: str = "Subpoena 26-118, Superior Court",
    days: int = 60,
    ends_on: datetime.date | None = None,
    now: datetime.datetime | None = None,
):
    """A legal hold of ``agency`` on ``captures`` through ``hold_place`` (as the command)."""
    from captures.holds.services import Who, hold_place

    now = now or timezone.now()
    ends_on = ends_on or now.astimezone(agency.tz).date() + datetime.timedelta(days=days)
    with schema_context(agency.schema_name):
        return hold_place(
            agency=agency,
            who=Who(username="system:test"),
            capture_ids=[c.pk for c in captures],
            case_number=case_number,
            reason=reason,
            authority=authority,
            ends_on=ends_on,
            now=now,
        )


# --- Releases ------------------------------------------------------------------------------


def make_confirmed_capture(
    agency: Agency,
    camera=None,
    *,
    plate: str | None = None,
    captured_at: datetime.datetime | None = None,
    reviewer: str = "reviewer",
):
    """A capture with encrypted images on disk, confirmed by a person: what may be released."""
    from captures.models import Capture

    camera = camera or make_camera(agency)
    captured_at = captured_at or timezone.now() - datetime.timedelta(hours=2)
    capture = make_stored_capture(
        agency, camera, captured_at=captured_at, plate=plate, reviewed=True
    )
    with schema_context(agency.schema_name):
        Capture.objects.filter(pk=capture.pk).update(
            review_status=Capture.Review.CONFIRMED,
            reviewed_by_username=reviewer,
            reviewed_at=timezone.now(),
        )
        capture.refresh_from_db()
    return capture


def disclosure_data(**overrides: Any):
    """A ``DisclosureInput`` of an acceptable release (a court order to a public agency)."""
    from captures.releases.models import ALL_FIELDS
    from captures.releases.services import DisclosureInput

    values: dict[str, Any] = {
        "recipient_person": "Dana Prosecutor",
        "recipient_organisation": "County District Attorney",
        "recipient_is_public_agency": True,
        "recipient_jurisdiction": "CA",
        "legal_basis": "court_order",
        "requester": "Deputy DA Dana Prosecutor",
        "case_number": "26-CR-0042",
        "justification": "Court order 26-0042 for reads of the suspect vehicle.",
        "fields_released": ALL_FIELDS,
    }
    values.update(overrides)
    return DisclosureInput(**values)


def disclosure_form(capture_ids, **overrides: Any) -> dict:
    """A POST body of the prepare form."""
    data: dict[str, Any] = {
        "captures": [str(i) for i in capture_ids],
        "recipient_person": "Dana Prosecutor",
        "recipient_organisation": "County District Attorney",
        "recipient_is_public_agency": "yes",
        "recipient_jurisdiction": "CA",
        "legal_basis": "court_order",
        "requester": "Deputy DA Dana Prosecutor",
        "case_number": "26-CR-0042",
        "justification": "Court order 26-0042 for reads of the suspect vehicle.",
        "fields_released": ["reading", "images", "camera_location", "review_history", "access_log"],
        "medium": "package",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}
