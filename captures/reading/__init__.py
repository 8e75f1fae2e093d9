"""Reading license plates: the public interface.

``get_reader()`` returns the process-wide :class:`PlateReader` (built once, thread-safe),
configured by ``settings.ALPR_OCR_MODEL`` (``"plate"``: the fine-tuned recognizer,
``"stock"``: easyocr's english_g2), ``settings.ALPR_OCR_THREADS`` and
``settings.ALPR_OCR_RUNTIME`` (``"onnx"``, default: ONNX Runtime, no torch in the worker;
``"torch"``: easyocr's own modules). It is the only reader a
process has: the reading task and ``manage.py read_plates`` both ask here.

The pipeline (numpy, easyocr, torch) is imported on first use, so code that only needs the
match keys or a ``PlateReading`` (search, review, the web process) never loads it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from .result import PlateReading

if TYPE_CHECKING:
    from .pipeline import PlateReader

logger = logging.getLogger(__name__)

_reader: PlateReader | None = None
_lock = threading.Lock()


def get_reader() -> PlateReader:
    """The process's plate reader, loaded on first use (the model takes seconds to load)."""
    global _reader
    if _reader is None:
        with _lock:
            if _reader is None:
                from django.conf import settings

                from .pipeline import PlateReader

                started = time.monotonic()
                _reader = PlateReader(
                    model=getattr(settings, "ALPR_OCR_MODEL", "plate"),
                    base_dir=settings.ALPR_EASYOCR_DIR,
                    threads=getattr(settings, "ALPR_OCR_THREADS", 2),
                    runtime=getattr(settings, "ALPR_OCR_RUNTIME", "onnx"),
                )
                logger.info("plate reader loaded in %.1f s", time.monotonic() - started)
    return _reader


__all__ = ["PlateReading", "get_reader"]
