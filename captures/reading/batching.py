"""Reading the crops that arrive together in one pass: a worker-side batcher.

The reading task keeps its one shape (one capture id per message). A reading worker runs
several tasks at once in threads (``--pool=threads --concurrency=8``, Procfile.production);
each task, once its images are decrypted, hands its crop to the process's batcher and waits.
The first waiting thread becomes the leader: it waits up to ``max_wait`` seconds while other
tasks in flight (``expecting``) are still on their way, then reads up to ``max_batch`` crops
with one detector pass (``PlateReader.read_plate_images``) and hands each thread its
reading.  With one task at a time (``--pool=solo``/prefork, concurrency 1) nothing waits:
a lone crop is read at once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .result import PlateReading

log = logging.getLogger(__name__)


@dataclass
class _Slot:
    image: Any
    done: threading.Event = field(default_factory=threading.Event)
    reading: PlateReading | None = None
    error: BaseException | None = None


class ReadBatcher:
    def __init__(
        self,
        read_many: Callable[[list[Any]], list[PlateReading]],
        *,
        max_batch: int = 8,
        max_wait: float = 0.03,
    ) -> None:
        self.read_many = read_many
        self.max_batch = max(1, max_batch)
        self.max_wait = max_wait
        self._cond = threading.Condition()
        self._queue: list[_Slot] = []
        self._in_flight = 0  # tasks between ``expecting`` and their reading
        self._leading = False
        self.batches = 0  # passes run, and crops read in them (for the benchmark and tests)
        self.crops = 0

    @contextlib.contextmanager
    def expecting(self) -> Iterator[None]:
        """Around a task that will probably ask for a reading: a leader waits for it."""
        with self._cond:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._cond:
                self._in_flight -= 1
                self._cond.notify_all()

    def read(self, image) -> PlateReading:
        slot = _Slot(image)
        with self._cond:
            self._queue.append(slot)
            self._cond.notify_all()
        while True:
            with self._cond:
                while self._leading and not slot.done.is_set():
                    self._cond.wait(0.5)
                if slot.done.is_set():
                    return self._result(slot)
                # This thread leads: gather the crops of the tasks on their way, then read.
                self._leading = True
                deadline = time.monotonic() + self.max_wait
                while len(self._queue) < min(self.max_batch, max(1, self._in_flight)):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
            self._run(batch)

    def _run(self, batch: list[_Slot]) -> None:
        try:
            readings = self.read_many([s.image for s in batch])
            for s, reading in zip(batch, readings, strict=True):
                s.reading = reading
        except BaseException as exc:  # every task of the batch raises it (and retries)
            for s in batch:
                s.error = exc
        finally:
            with self._cond:
                self.batches += 1
                self.crops += len(batch)
                for s in batch:
                    s.done.set()
                self._leading = False
                self._cond.notify_all()
        if len(batch) > 1:
            log.info("read %d crops in one pass", len(batch))

    @staticmethod
    def _result(slot: _Slot) -> PlateReading:
        if slot.error is not None:
            raise slot.error
        assert slot.reading is not None
        return slot.reading
