"""``POST /api/v1/captures/batch/``: a camera that buffered captures while offline sends up to
``BATCH_LIMIT`` in one multipart request.

Item ``i``'s fields are named ``<i>.<field>`` with the fields of a single upload
(``0.plate_image``, ``0.captured_at``, ``0.capture_id``, ``1.plate_image``, ...); ``capture_id``
is required, so a batch sent again (the answer was lost) stores nothing twice. Each item is
checked and stored on its own (``capture_ingest``, one transaction each) and answered on its
own in ``results``, in index order: 201 stored, 200 already stored (same ``capture_id``), or a
4xx refusal with ``detail`` and ``field`` that stored nothing. Problems of the request itself
(key, rate limit, no items, too many, malformed names, too large) answer the whole request.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.files.uploadedfile import UploadedFile
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from captures.ingest.api import (
    CameraKeyAuthentication,
    ErrorSerializer,
    IsCamera,
    _agency,
    _api_exception_handler,
    _error,
    _parse_uuid,
    ingest_upload,
    upload_bytes,
)
from captures.ingest.services import CaptureRejected
from captures.models import Camera
from tenants.models import Agency
from tenants.people.access import public_view

BATCH_LIMIT = 100
FIELDS = (
    "plate_image",
    "vehicle_image",
    "captured_at",
    "latitude",
    "longitude",
    "capture_id",
    "plate",
    "state",
    "confidence",
)
_NAME = re.compile(r"^(\d{1,3})\.([a-z_]+)$")


class BatchRejected(Exception):
    def __init__(self, message: str, *, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.message, self.field, self.status = message, field, status


class BatchItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The item's number in the request.")
    status = serializers.IntegerField(help_text="201 stored, 200 already stored, or a 4xx.")
    id = serializers.UUIDField(required=False, help_text="The stored capture (201 and 200).")
    capture_id = serializers.UUIDField(required=False, allow_null=True)
    capture_status = serializers.CharField(required=False, help_text="pending, read, ...")
    detail = serializers.CharField(required=False, help_text="Why the item was refused.")
    field = serializers.CharField(required=False, allow_null=True)


class BatchResultSerializer(serializers.Serializer):
    stored = serializers.IntegerField(help_text="Items stored now (201).")
    already_stored = serializers.IntegerField(help_text="Items sent before (200).")
    refused = serializers.IntegerField(help_text="Items refused (4xx); nothing of them stored.")
    results = BatchItemResultSerializer(many=True)


def _items(request: Request) -> dict[int, dict[str, Any]]:
    """The items of the request by index, from the ``<i>.<field>`` names of fields and files."""
    items: dict[int, dict[str, Any]] = defaultdict(dict)
    data: Any = request.data  # a QueryDict of a multipart body (files merged in)
    for name in sorted({*data.keys(), *request.FILES.keys()}):
        match = _NAME.match(name)
        if not match or match.group(2) not in FIELDS:
            raise BatchRejected(
                f"{name!r} is not an item field: name them <index>.<field>, e.g. "
                f"0.plate_image, with a field of {', '.join(FIELDS)}.",
                field=name,
            )
        index = int(match.group(1))
        if index >= BATCH_LIMIT:
            raise BatchRejected(
                f"Item indexes run from 0 to {BATCH_LIMIT - 1}; send at most {BATCH_LIMIT} "
                "captures per batch.",
                field=name,
                status=413,
            )
        value = request.FILES.get(name) if name in request.FILES else data.get(name)
        items[index][match.group(2)] = value
    if not items:
        raise BatchRejected("The batch holds no items: send 0.plate_image, 0.captured_at, ...")
    return dict(items)


def _text(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None or isinstance(value, UploadedFile):
        return None
    return str(value).strip() or None


def _image(fields: dict[str, Any], name: str, required: bool) -> bytes | None:
    upload = fields.get(name)
    if upload is None:
        if required:
            raise CaptureRejected(f"{name} is required: send the plate image file.", field=name)
        return None
    if not isinstance(upload, UploadedFile):
        raise CaptureRejected(f"{name} must be sent as a file, not as text.", field=name)
    return upload_bytes(upload, name)


def _one(camera: Camera, agency: Agency, index: int, fields: dict[str, Any]) -> dict[str, Any]:
    try:
        capture_id = _parse_uuid(_text(fields, "capture_id"))
        if capture_id is None:
            raise CaptureRejected(
                "capture_id is required in a batch: a UUID per capture, so that sending the "
                "batch again stores nothing twice.",
                field="capture_id",
            )
        result = ingest_upload(
            camera=camera,
            agency=agency,
            text=lambda name: _text(fields, name),
            image=lambda name, required: _image(fields, name, required),
            client_capture_id=capture_id,
        )
    except CaptureRejected as exc:
        return {"index": index, "status": exc.status, "detail": exc.message, "field": exc.field}
    capture = result.capture
    return {
        "index": index,
        "status": 201 if result.created else 200,
        "id": str(capture.pk),
        "capture_id": str(capture.client_capture_id),
        "capture_status": capture.status,
    }


class CaptureBatchView(APIView):
    authentication_classes = [CameraKeyAuthentication]
    permission_classes = [IsCamera]
    parser_classes = [MultiPartParser]
    throttle_classes: list = []

    def get_exception_handler(self):
        return _api_exception_handler

    @extend_schema(
        operation_id="capture_batch_create",
        summary="Upload up to 100 buffered captures",
        description=__doc__,
        request={"multipart/form-data": OpenApiTypes.OBJECT},
        responses={
            200: BatchResultSerializer,
            400: OpenApiResponse(ErrorSerializer, description="No items, or a malformed name."),
            401: OpenApiResponse(ErrorSerializer, description="Missing or unknown camera key."),
            403: OpenApiResponse(ErrorSerializer, description="Camera deactivated."),
            413: OpenApiResponse(ErrorSerializer, description="More than 100 items, or too big."),
            415: OpenApiResponse(ErrorSerializer, description="Not multipart/form-data."),
            429: OpenApiResponse(ErrorSerializer, description="Over the camera's limit."),
        },
        examples=[
            OpenApiExample(
                "Two stored, one sent before, one refused",
                value={
                    "stored": 2,
                    "already_stored": 1,
                    "refused": 1,
                    "results": [
                        {
                            "index": 0,
                            "status": 201,
                            "id": "6f1c2b9e-5d1a-4c37-9f0e-2f4b8f2a1c11",
                            "capture_id": "0b6d1b0e-8d2b-4a57-9d4c-3f6f0f6a2e01",
                            "capture_status": "pending",
                        },
                        {
                            "index": 3,
                            "status": 400,
                            "field": "captured_at",
                            "detail": "captured_at must include a UTC offset, e.g. "
                            "2026-11-29T01:15:00+00:00.",
                        },
                    ],
                },
                response_only=True,
                status_codes=["200"],
            )
        ],
    )
    def post(self, request: Request) -> Response:
        camera = cast(Camera, request.auth)
        limit = settings.ALPR_MAX_BATCH_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            return _error(
                f"The batch is {declared / 1048576:.1f} MB; at most "
                f"{limit / 1048576:.0f} MB per batch (send fewer items).",
                code=413,
            )
        try:
            items = _items(request)
        except BatchRejected as exc:
            return _error(exc.message, field=exc.field, code=exc.status)
        except (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent):
            return _error(f"Too many fields or files: at most {BATCH_LIMIT} items.", code=413)
        agency = _agency(request)
        results = [_one(camera, agency, index, items[index]) for index in sorted(items)]
        body = {
            "stored": sum(r["status"] == 201 for r in results),
            "already_stored": sum(r["status"] == 200 for r in results),
            "refused": sum(r["status"] >= 400 for r in results),
            "results": results,
        }
        return Response(body, status=200)


# Camera-key authenticated, not a person's session: the access decorator does not apply.
capture_batch = public_view(CaptureBatchView.as_view())
