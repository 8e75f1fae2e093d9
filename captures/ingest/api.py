"""The camera API: cameras push captures to their agency's host.

``POST /api/v1/captures/`` with ``Authorization: Bearer <camera key>`` and a multipart body.
Every refusal is a 4xx JSON ``{"detail": "<plain sentence>", "field": "<name or null>"}``
and stores nothing. OpenAPI schema at ``/api/schema/``, browsable docs at ``/api/docs/``.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from typing import cast

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadedfile import UploadedFile
from django.db import connection
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from audit.services import client_ip
from captures.ingest.limits import (
    LimiterUnavailable,
    RateLimited,
    address_check,
    camera_auth_failure_record,
    camera_rate_check,
)
from captures.ingest.services import (
    KEY_SCHEME,
    CameraAuthError,
    CaptureRejected,
    IngestResult,
    camera_authenticate,
    capture_ingest,
)
from captures.models import Camera, CameraAuthFailure
from tenants.http import AgencyRequest
from tenants.models import Agency
from tenants.people.access import public_view


def _CameraAuthFailed(message: str, status_code: int) -> exceptions.APIException:  # noqa: N802
    if status_code == 401:
        return exceptions.AuthenticationFailed(message)  # answered with WWW-Authenticate
    return exceptions.PermissionDenied(message)


class LimiterDown(exceptions.APIException):
    status_code = 503
    default_detail = (
        "The camera API cannot check its rate limit right now. Keep the capture and send it "
        "again in a minute."
    )

    def __init__(self, retry_after: int):
        super().__init__()
        self.wait = retry_after  # DRF's handler turns it into Retry-After


def _throttled(exc: RateLimited) -> exceptions.Throttled:
    return exceptions.Throttled(wait=exc.retry_after, detail=exc.message)


def _refusal_reason(key: str, exc: CameraAuthError) -> tuple[str, str]:
    """The key prefix that was sent (if the key was well formed) and why it was refused."""
    parts = key.split("_", 3)
    Reason = CameraAuthFailure.Reason  # noqa: N806
    if len(parts) != 4 or parts[0] != KEY_SCHEME or not parts[2] or not parts[3]:
        return "", Reason.MALFORMED
    if exc.status == 403:
        other_agency = parts[1] != getattr(getattr(connection, "tenant", None), "slug", parts[1])
        return parts[2], Reason.OTHER_AGENCY if other_agency else Reason.DEACTIVATED
    return parts[2], Reason.UNKNOWN


class CameraKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer <camera key>``; the key is checked in the host's agency only.

    An address past its refused-key limit gets 429 before its key is looked at; a refused key
    is counted (``api_limits``); an accepted camera counts toward its own request limit.
    """

    def authenticate(self, request: Request):
        address = client_ip(request)
        try:
            address_check(address=address)
            header = request.META.get("HTTP_AUTHORIZATION", "")
            scheme, _, key = header.partition(" ")
            key = key.strip()
            if scheme.lower() != "bearer" or not key:
                camera_auth_failure_record(
                    address=address, key_prefix="", reason=CameraAuthFailure.Reason.MISSING
                )
                raise _CameraAuthFailed(
                    "Send the camera's API key as 'Authorization: Bearer <key>'.", 401
                )
            try:
                camera = camera_authenticate(api_key=key)
            except CameraAuthError as exc:
                prefix, reason = _refusal_reason(key, exc)
                camera_auth_failure_record(address=address, key_prefix=prefix, reason=reason)
                raise _CameraAuthFailed(exc.message, exc.status) from None
            camera_rate_check(camera=camera)
        except RateLimited as exc:
            raise _throttled(exc) from None
        except LimiterUnavailable as exc:
            raise LimiterDown(exc.retry_after) from None
        return (CameraPrincipal(camera), camera)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="camera API"'


class CameraPrincipal:
    """What ``request.user`` is for a camera: authenticated, but not a person."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, camera: Camera):
        self.camera = camera
        self.pk = None

    def get_username(self) -> str:
        return f"camera:{self.camera.name}"


class IsCamera(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, Camera)


class CameraKeyScheme(OpenApiAuthenticationExtension):
    target_class = "captures.ingest.api.CameraKeyAuthentication"
    name = "cameraKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The camera's API key, shown once when the camera was created.",
        }


class CaptureUploadSerializer(serializers.Serializer):
    """The multipart fields of an upload (checked in detail by the ingest service)."""

    plate_image = serializers.FileField(help_text="JPEG, PNG or WebP of the plate (required).")
    vehicle_image = serializers.FileField(required=False, help_text="JPEG, PNG or WebP.")
    captured_at = serializers.CharField(
        help_text="ISO 8601 with a UTC offset, e.g. 2026-11-29T01:15:00+00:00."
    )
    latitude = serializers.CharField(required=False, help_text="Default: the camera's.")
    longitude = serializers.CharField(required=False, help_text="Default: the camera's.")
    capture_id = serializers.CharField(
        required=False, help_text="A UUID chosen by the camera; resending it is safe."
    )
    plate = serializers.CharField(required=False, help_text="The camera's own reading.")
    state = serializers.CharField(required=False, help_text="Two-letter state code.")
    confidence = serializers.CharField(required=False, help_text="0 to 1.")


class CaptureCreatedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField(help_text="pending, read, unread or failed.")
    capture_id = serializers.UUIDField(allow_null=True)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    field = serializers.CharField(allow_null=True)


def _error(message: str, *, field: str | None = None, code: int = 400) -> Response:
    return Response({"detail": message, "field": field}, status=code)


def _api_exception_handler(exc, context):
    """DRF's errors in the same shape as ours: a plain ``detail`` sentence and a ``field``."""
    response = exception_handler(exc, context)
    if response is not None:
        data = response.data
        detail = data.get("detail") if isinstance(data, dict) else None
        if isinstance(exc, exceptions.UnsupportedMediaType):
            detail = "Send the capture as multipart/form-data."
        response.data = {"detail": str(detail or "The request was refused."), "field": None}
    return response


def _text(data, name: str) -> str | None:
    value = data.get(name)
    if value is None or isinstance(value, UploadedFile):
        return None
    value = str(value).strip()
    return value or None


def upload_bytes(upload: UploadedFile, name: str) -> bytes:
    """The bytes of one uploaded image, or CaptureRejected (413) when it is over the limit."""
    limit = settings.ALPR_MAX_UPLOAD_BYTES
    if upload.size is not None and upload.size > limit:
        raise CaptureRejected(
            f"{name} is {upload.size / 1048576:.1f} MB; the largest accepted image is "
            f"{limit / 1048576:.0f} MB.",
            field=name,
            status=413,
        )
    return upload.read(limit + 1)


def _file(request: Request, name: str, *, required: bool) -> bytes | None:
    upload = request.FILES.get(name)
    if upload is None:
        sent = request.data
        if isinstance(sent, dict) and sent.get(name):
            raise CaptureRejected(
                f"{name} must be sent as a file (multipart/form-data), not as text.", field=name
            )
        if required:
            raise CaptureRejected(f"{name} is required: send the plate image file.", field=name)
        return None
    return upload_bytes(upload, name)


def ingest_upload(
    *,
    camera: Camera,
    agency: Agency,
    text: Callable[[str], str | None],
    image: Callable[[str, bool], bytes | None],
    client_capture_id: uuid.UUID | None,
) -> IngestResult:
    """One upload's fields (``text(name)``, ``image(name, required)``) checked and ingested.

    The single upload and each item of a batch go through here. Raises CaptureRejected.
    """
    return capture_ingest(
        camera=camera,
        agency=agency,
        plate_image=cast(bytes, image("plate_image", True)),
        vehicle_image=image("vehicle_image", False),
        captured_at=_parse_captured_at(text("captured_at")),
        latitude=text("latitude"),
        longitude=text("longitude"),
        client_capture_id=client_capture_id,
        edge_plate=text("plate"),
        edge_state=text("state"),
        edge_confidence=text("confidence"),
    )


def _agency(request: Request) -> Agency:
    """The host's agency: django-tenants' middleware put it on the Django request."""
    return cast(AgencyRequest, request._request).tenant


def _parse_captured_at(value: str | None) -> datetime.datetime:
    if not value:
        raise CaptureRejected(
            "captured_at is required: the time of capture in ISO 8601 with a UTC offset.",
            field="captured_at",
        )
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise CaptureRejected(
            f"captured_at {value!r} is not an ISO 8601 date and time, e.g. "
            "2026-11-29T01:15:00+00:00.",
            field="captured_at",
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise CaptureRejected(
            "captured_at must include a UTC offset, e.g. 2026-11-29T01:15:00+00:00.",
            field="captured_at",
        )
    return parsed


def _parse_uuid(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise CaptureRejected("capture_id must be a UUID.", field="capture_id") from None


class CaptureCreateView(APIView):
    authentication_classes = [CameraKeyAuthentication]
    permission_classes = [IsCamera]
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes: list = []

    def get_exception_handler(self):
        return _api_exception_handler

    @extend_schema(
        operation_id="capture_create",
        summary="Upload one capture",
        description=(
            "Stores the images encrypted and queues the plate for reading. The same "
            "`capture_id` sent again by the same camera returns the stored capture."
        ),
        request={"multipart/form-data": CaptureUploadSerializer},
        responses={
            201: CaptureCreatedSerializer,
            400: OpenApiResponse(ErrorSerializer, description="A field is missing or wrong."),
            401: OpenApiResponse(ErrorSerializer, description="Missing or unknown camera key."),
            403: OpenApiResponse(
                ErrorSerializer, description="Camera deactivated, or key of another agency."
            ),
            413: OpenApiResponse(ErrorSerializer, description="Image too large."),
            415: OpenApiResponse(ErrorSerializer, description="Not JPEG, PNG or WebP."),
            429: OpenApiResponse(
                ErrorSerializer,
                description=(
                    "Over the camera's request limit, or too many refused keys from this "
                    "address; `Retry-After` gives the seconds to wait."
                ),
            ),
            503: OpenApiResponse(
                ErrorSerializer,
                description="The rate limit cannot be checked (only if set to fail closed).",
            ),
        },
        examples=[
            OpenApiExample(
                "Created",
                value={
                    "id": "6f1c2b9e-5d1a-4c37-9f0e-2f4b8f2a1c11",
                    "status": "pending",
                    "capture_id": None,
                },
                response_only=True,
                status_codes=["201"],
            )
        ],
    )
    def post(self, request: Request) -> Response:
        camera = cast(Camera, request.auth)  # IsCamera let only a camera through
        limit = settings.ALPR_MAX_UPLOAD_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > 2 * limit + 1024 * 1024:
            return _error(
                f"The upload is {declared / 1048576:.1f} MB; each image may be at most "
                f"{limit / 1048576:.0f} MB.",
                code=413,
            )
        try:
            data = request.data
        except RequestDataTooBig:
            return _error("A text field of the upload is too large.", code=413)
        try:
            result = ingest_upload(
                camera=camera,
                agency=_agency(request),
                text=lambda name: _text(data, name),
                image=lambda name, required: _file(request, name, required=required),
                client_capture_id=_parse_uuid(_text(data, "capture_id")),
            )
        except CaptureRejected as exc:
            return _error(exc.message, field=exc.field, code=exc.status)
        capture = result.capture
        body = {
            "id": str(capture.pk),
            "status": capture.status,
            "capture_id": str(capture.client_capture_id) if capture.client_capture_id else None,
        }
        return Response(body, status=status.HTTP_201_CREATED)


# Camera-key authenticated, not a person's session: the access decorator does not apply.
capture_create = public_view(CaptureCreateView.as_view())
schema_view = public_view(SpectacularAPIView.as_view())
docs_view = public_view(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html")
)
