"""Captures coming in: cameras and their keys, the camera API and its limits, image checks,
and ``capture_ingest``, which stores a capture and queues it for reading."""
