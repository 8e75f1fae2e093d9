"""What each UTC day of stored images still holds: its captures, the names they use, its folder.

A day's folder (``<schema>/<YYYY-MM-DD>/``) and its data key belong to the captures of that
day. The purge empties a day and destroys its key once nothing in it is named by a capture;
the retention checks count what is left. Both read the days through these functions, in the
current agency schema.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from django.db import models

from captures.models import Capture
from captures.storage.image_files import image_storage
from tenants.schemas import current_schema


def image_fields() -> list[str]:
    """Capture fields holding storage names of encrypted images (plate, vehicle, crops...)."""
    return [
        f.name
        for f in Capture._meta.concrete_fields
        if isinstance(f, models.CharField) and f.name.endswith("_image")
    ]


def schema_root() -> Path:
    """The current agency's image folder (it may not exist yet)."""
    return Path(image_storage.root) / current_schema()


def day_folders(before_day: datetime.date) -> list[tuple[datetime.date, Path]]:
    """The current agency's day folders of days before ``before_day``, oldest first."""
    root = schema_root()
    if not root.is_dir():
        return []
    folders = []
    for entry in root.iterdir():
        try:
            day = datetime.date.fromisoformat(entry.name)
        except ValueError:
            continue
        if entry.is_dir() and day < before_day:
            folders.append((day, entry))
    return sorted(folders)


def stored_days(before_day: datetime.date | None = None) -> list[datetime.date]:
    """The current agency's days that hold stored files (before ``before_day``), oldest first;
    in the local folder or the bucket alike."""
    days = [datetime.date.fromisoformat(d) for d in image_storage.blobs.days(current_schema())]
    return [day for day in days if before_day is None or day < before_day]


def day_file_names(day: datetime.date) -> list[str]:
    """The file names (``<uuid>.bin``, temporary parts too) stored under ``day``."""
    return image_storage.blobs.files(current_schema(), day.isoformat())


def delete_day_file(day: datetime.date, file_name: str) -> bool:
    """Delete one file of ``day`` by its file name (orphans: no capture names it)."""
    return image_storage.blobs.delete(f"{current_schema()}/{day.isoformat()}/{file_name}")


def remove_day(day: datetime.date) -> bool:
    """Remove ``day``'s emptied folder; True if it is gone now (a bucket has no folders)."""
    return image_storage.blobs.remove_day(current_schema(), day.isoformat())


def file_modified(day: datetime.date, file_name: str) -> float:
    """When a file of ``day`` was last written (POSIX time)."""
    return image_storage.blobs.modified(f"{current_schema()}/{day.isoformat()}/{file_name}")


def captures_of_day(
    day: datetime.date, *, live_after: datetime.datetime | None = None
) -> models.QuerySet[Capture]:
    """Captures whose images are stored under ``day`` (its folder and its data key)."""
    prefix = f"{day.isoformat()}/"
    query = models.Q(key_day=day)
    for name in image_fields():
        query |= models.Q(**{f"{name}__startswith": prefix})
    captures = Capture.objects.filter(query)
    if live_after is not None:
        captures = captures.filter(captured_at__gt=live_after)
    return captures


def names_in_use(day: datetime.date, *, live_after: datetime.datetime | None = None) -> set[str]:
    """Image names of captures stored under ``day`` (normally none once the day is expired)."""
    prefix = f"{day.isoformat()}/"
    names: set[str] = set()
    rows = captures_of_day(day, live_after=live_after).values_list(*image_fields())
    for row in rows.iterator(chunk_size=5000):
        names.update(n for n in row if n and n.startswith(prefix))
    return names
