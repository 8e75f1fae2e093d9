"""Helpers of the suite that are not builders (those are in tests/factories.py): signing in
through the real pages or as a shortcut, authenticator codes, the camera API, and looking at
what a test left behind (access-log entries, stored files). Fixtures stay in conftest files.
"""

from __future__ import annotations

import os
import re
import socket
import time
from base64 import b32decode
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_tenants.utils import schema_context

from audit.models import AccessEvent
from captures.ingest.limits import KEY_PREFIX
from captures.models import Camera, Capture, DataKey
from captures.review.selectors import review_version
from tenants.models import Agency
from tenants.people.models import EncryptedTOTPDevice
from tests.factories import RETENTION_CAMERA, REVIEW_PURPOSE, image_bytes, purpose_id

ROOT = Path(__file__).resolve().parents[1]  # the repository

# The browser tests' two sizes, and where their screenshots go (var/test-artifacts/<size>/).
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
ARTIFACTS = Path(os.environ.get("ALPR_TEST_ARTIFACTS", ROOT / "var" / "test-artifacts"))
SECRET_RE = re.compile(r'data-secret="([A-Z2-7]+)"')
CAMERA_API = "/api/v1/captures/"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def committed_agency(slug: str = "alpha") -> Agency:
    """An agency fetched outside any per-test transaction (``agency_a`` would open one)."""
    return Agency.objects.get(slug=slug)


# --- Signing in ---------------------------------------------------------------------------


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


def code_for(secret_b32: str, *, at: float | None = None) -> str:
    """The code an authenticator app shows for ``secret_b32`` now (or at ``at``)."""
    totp = TOTP(b32decode(secret_b32))
    totp.time = time.time() if at is None else at
    return f"{totp.token():06d}"


def enrolled_secret(agency: Agency, user) -> str:
    """Give ``user`` a confirmed authenticator; returns its base32 secret (as an app holds it)."""
    with schema_context(agency.schema_name):
        EncryptedTOTPDevice.objects.filter(user=user).delete()
        device = EncryptedTOTPDevice(user=user, name="phone", confirmed=True)
        device.set_new_secret()
        device.save()
        return device.secret_base32


def password_step(client: Client, username: str, password: str, *, next_url: str | None = None):
    data = {"username": username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post("/accounts/login/", data)


def code_step(client: Client, code: str):
    return client.post("/accounts/login/code/", {"code": code})


def sign_in(client: Client, username: str, password: str, secret: str, *, at=None):
    """Both steps; returns the response of the code step."""
    first = password_step(client, username, password)
    assert first.status_code == 302, first
    assert "/accounts/login/code/" in first["Location"], first
    return code_step(client, code_for(secret, at=at))


def support_sign_in(client: Client, username: str, password: str, secret: str, *, at=None):
    """The support sign-in page of the client's (agency) host; returns its response."""
    return client.post(
        "/support/sign-in/",
        {"username": username, "password": password, "code": code_for(secret, at=at)},
    )


def start_review(client: Client, agency: Agency, **overrides):
    """Start a review session through the queue's purpose form; returns the response."""
    data = {"purpose": purpose_id(agency, REVIEW_PURPOSE), "case_number": "", "purpose_text": ""}
    data.update(overrides)
    return client.post("/review/", {k: v for k, v in data.items() if v is not None})


# --- The camera API -----------------------------------------------------------------------


def api_post(client: Client, key: str | None, **fields):
    """POST a capture to the camera API with ``key``: a plate image and the current time
    unless ``fields`` say otherwise (a field given as None is left out)."""
    data = {
        "captured_at": timezone.now().isoformat(),
        "plate_image": SimpleUploadedFile("p.png", image_bytes(), "image/png"),
        **fields,
    }
    extra = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return client.post(CAMERA_API, data={k: v for k, v in data.items() if v is not None}, **extra)


def rate_limits_reset(url: str | None = None) -> None:
    """Forget every camera API count in Redis (the limits use the real Redis of the run)."""
    import redis

    client = redis.Redis.from_url(url or settings.REDIS_URL)
    keys = list(client.scan_iter(f"{KEY_PREFIX}:*", count=1000))
    if keys:
        client.delete(*keys)


# --- What a test left behind --------------------------------------------------------------


def events(agency: Agency, **filters) -> list[AccessEvent]:
    """``agency``'s access-log entries matching ``filters``, oldest first."""
    with schema_context(agency.schema_name):
        return list(AccessEvent.objects.filter(**filters).order_by("id"))


def reloaded(agency: Agency, capture):
    """``capture`` as its agency's database has it now."""
    with schema_context(agency.schema_name):
        return Capture.objects.get(pk=capture.pk)


def version_of(agency: Agency, capture) -> str:
    """The version of a read a review page shows (its latest review's id, 0 for none)."""
    with schema_context(agency.schema_name):
        return str(review_version(Capture.objects.get(pk=capture.pk)))


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def mine():
    """The retention tests' captures (of ``RETENTION_CAMERA`` cameras): other tests may have
    committed captures in the same agency. Call inside the agency's schema."""
    return Capture.objects.filter(camera__name__startswith=RETENTION_CAMERA)


def files_of(capture) -> list[str]:
    return [n for n in (capture.plate_image, capture.vehicle_image) if n]


def path_of(storage_dir: Path, agency: Agency, name: str) -> Path:
    return storage_dir / agency.schema_name / name


def cleanup_committed(agency: Agency, camera, captures) -> None:
    """Delete what ``make_expired_set`` committed: the captures, the camera, the day keys."""
    with schema_context(agency.schema_name):
        Capture.objects.filter(camera=camera).delete()
        Camera.objects.filter(pk=camera.pk).delete()
        DataKey.objects.filter(day__in={c.key_day for c in captures}).delete()


def last_event_id(agency: Agency) -> int:
    """The newest entry of ``agency``'s log now (0 if none): tests that must ignore entries
    committed by other tests (browser tests commit theirs) look only at entries after it."""
    with schema_context(agency.schema_name):
        return AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def details_of(event) -> dict:
    """An access-log entry's details without the request id that requests add to every entry
    (``audit.context``): what the service itself recorded."""
    return {k: v for k, v in event.details.items() if k != "request_id"}


class NewRows:
    """What this test made, among rows that other tests committed (browser tests commit theirs):
    access-log entries and sharing grants after the marks taken when the test starts."""

    def __init__(self) -> None:
        self.marks: dict[str, int] = {}

    def mark(self, *agencies: Agency) -> None:
        from tenants.sharing.models import Grant

        self.marks.update({agency.slug: last_event_id(agency) for agency in agencies})
        self.marks["grant"] = (
            Grant.objects.order_by("-id").values_list("id", flat=True).first() or 0
        )

    def events(self, agency: Agency, **filters):
        return events(agency, id__gt=self.marks[agency.slug], **filters)

    def grants(self):
        from tenants.sharing.models import Grant

        return Grant.objects.filter(pk__gt=self.marks["grant"])


def settings_form_data(agency: Agency, **overrides) -> dict:
    """The agency settings page's form as it stands for ``agency``, with ``overrides``; empty
    values are left out, as a browser leaves out an unticked box."""
    from tenants.policy import DEFAULT_POLICY

    data = {
        "retention_days": agency.retention_days,
        "purge_hour": agency.purge_hour,
        "timezone": agency.timezone,
        "require_case_number": "on" if agency.require_case_number else "",
        "contact_name": agency.contact_name,
        "contact_email": agency.contact_email,
        "policy_text": agency.policy_text or DEFAULT_POLICY,
        "share_law_profile": agency.share_law_profile,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v != ""}
