"""The health heartbeats (``alpr_portal.health``): beat stamps its run and asks every queue's
worker to stamp its own."""

from __future__ import annotations

from celery import shared_task

from alpr_portal import health


@shared_task(name="alpr_portal.health_beat", ignore_result=True)
def health_beat() -> int:
    """Beat, every 15 s: stamp beat's run, send one heartbeat into each queue."""
    health.record_beat()
    names = health.queues()
    for queue in names:
        # A heartbeat nobody took within two minutes is dropped, not piled up.
        health_heartbeat.apply_async(args=(queue,), queue=queue, expires=120)
    return len(names)


@shared_task(name="alpr_portal.health_heartbeat", ignore_result=True)
def health_heartbeat(queue: str) -> None:
    health.record_heartbeat(queue)
