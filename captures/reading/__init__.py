"""Reading license plates: the public interface.

``get_reader()`` returns the process-wide :class:`PlateReader` (built once, thread-safe),
configured by ``settings.ALPR_OCR_MODEL`` (``"plate"``: the fine-tuned recognizer,
``"stock"``: easyocr's english_g2) and ``settings.ALPR_OCR_THREADS``.
"""

from __future__ import annotations

import threading

from .pipeline import PlateReader
from .result import PlateReading

_reader: PlateReader | None = None
_lock = threading.Lock()


def get_reader() -> PlateReader:
    """The process's plate reader, loaded on first use."""
    global _reader
    if _reader is None:
        with _lock:
            if _reader is None:
                from django.conf import settings

                _reader = PlateReader(
                    model=getattr(settings, "ALPR_OCR_MODEL", "plate"),
                    base_dir=settings.ALPR_EASYOCR_DIR,
                    threads=getattr(settings, "ALPR_OCR_THREADS", 2),
                )
    return _reader


__all__ = ["PlateReader", "PlateReading", "get_reader"]
