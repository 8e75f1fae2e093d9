"""Test data builders. Users are created inside their agency's schema."""

from __future__ import annotations

import datetime
import itertools
import uuid
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_tenants.utils import schema_context

from tenants.models import Agency
from tenants.people.models import EncryptedTOTPDevice, TrainingRecord
from tenants.people.roles import Role, assign_roles

DEFAULT_PASSWORD = "correct-horse-battery-staple-42"
_counter = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"


def make_user(
    agency: Agency,
    *,
    username: str | None = None,
    roles: Iterable[Role] = (Role.OFFICER,),
    password: str = DEFAULT_PASSWORD,
    is_active: bool = True,
    trained: bool = True,
):
    """A user of ``agency`` holding ``roles``, with current initial training unless told not."""
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


def host_of(agency: Agency) -> str:
    return agency.get_primary_domain().domain


def verified_client(agency: Agency, user) -> Client:
    """A test client signed in as ``user`` on ``agency``'s host with a verified second factor.

    A shortcut for view tests; the sign-in pages themselves are tested through the real flow.
    """
    client = Client(HTTP_HOST=host_of(agency))
    with schema_context(agency.schema_name):
        device = EncryptedTOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = EncryptedTOTPDevice(user=user, name="default", confirmed=True)
            device.set_new_secret()
            device.save()
        client.force_login(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


def make_camera(
    agency: Agency, *, name: str | None = None, latitude=34.05, longitude=-118.25, **extra
):
    """A camera of ``agency`` (its API key is not usable: tests of the API set their own)."""
    from captures.models import Camera

    name = name or f"Camera {uuid.uuid4().hex[:10]}"
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
