"""The background work of releases: building an evidence package (one task, one service).

Sent by name (``captures.releases.services.BUILD_TASK``) from ``package_request`` inside the
agency's schema, so tenant-schemas-celery runs it there; it starts with ``task_agency``.
A build is idempotent (a package already built or failed is skipped) and acknowledged late,
so a worker killed mid-build hands it to the next worker, which starts the file again.
"""

from __future__ import annotations

from celery import shared_task

from captures.releases.package import package_build
from captures.releases.services import BUILD_TASK
from tenants.fanout import task_agency

BUILD_TIME_LIMIT = 3600


@shared_task(
    name=BUILD_TASK,
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=BUILD_TIME_LIMIT,
    soft_time_limit=BUILD_TIME_LIMIT - 60,
)
def build_package(agency_id: int, package_id: int) -> str:
    """Build evidence package ``package_id`` of the agency (in its schema)."""
    agency = task_agency(agency_id)
    package = package_build(agency=agency, package_id=package_id)
    return package.status if package is not None else "skipped"
