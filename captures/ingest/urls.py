"""The camera API on the agency's host, mounted at /api/ by alpr_portal/urls_agency.py."""

from django.urls import path

from captures.ingest import api, batch

urlpatterns = [
    path("v1/captures/", api.capture_create, name="api-capture-create"),
    path("v1/captures/batch/", batch.capture_batch, name="api-capture-batch"),
    path("schema/", api.schema_view, name="api-schema"),
    path("docs/", api.docs_view, name="api-docs"),
]
