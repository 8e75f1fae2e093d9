"""The worker-side batcher: crops asked for by tasks running side by side are read in one
pass, each task gets its own reading, and a lone task does not wait."""

from __future__ import annotations

import threading
import time

import pytest

from captures.reading.batching import ReadBatcher
from captures.reading.result import PlateReading


class CountingReader:
    def __init__(self, *, fail: bool = False, delay: float = 0.0):
        self.batches: list[list[str]] = []
        self.fail = fail
        self.delay = delay

    def __call__(self, images: list[str]) -> list[PlateReading]:
        self.batches.append(list(images))
        time.sleep(self.delay)
        if self.fail:
            raise RuntimeError("reader broke")
        return [PlateReading(i, 0.9, None, None, None, "t", 1.0) for i in images]


def _tasks(batcher: ReadBatcher, names: list[str], *, work: float = 0.0) -> dict[str, object]:
    results: dict[str, object] = {}

    def task(name: str) -> None:
        with batcher.expecting():
            time.sleep(work)  # loading and decrypting the capture
            try:
                results[name] = batcher.read(name).plate
            except RuntimeError as exc:
                results[name] = exc

    threads = [threading.Thread(target=task, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return results


def test_crops_of_tasks_in_flight_are_read_together_and_each_gets_its_own():
    reader = CountingReader(delay=0.05)
    batcher = ReadBatcher(reader, max_batch=8, max_wait=0.5)
    names = [f"P{i}" for i in range(16)]
    results = _tasks(batcher, names, work=0.01)
    assert results == {n: n for n in names}
    assert sorted(n for batch in reader.batches for n in batch) == sorted(names)
    assert max(len(b) for b in reader.batches) == 8
    assert len(reader.batches) <= 4


def test_a_lone_task_is_read_at_once():
    reader = CountingReader()
    batcher = ReadBatcher(reader, max_batch=8, max_wait=5.0)
    started = time.monotonic()
    with batcher.expecting():
        assert batcher.read("ONE").plate == "ONE"
    assert time.monotonic() - started < 1.0  # did not wait for the 5 s window
    assert batcher.read("TWO").plate == "TWO"  # without ``expecting`` too
    assert reader.batches == [["ONE"], ["TWO"]]


def test_a_failing_pass_fails_every_task_of_the_batch_and_the_next_pass_runs():
    reader = CountingReader(fail=True, delay=0.05)
    batcher = ReadBatcher(reader, max_batch=4, max_wait=0.5)
    results = _tasks(batcher, ["A", "B", "C"])
    assert all(isinstance(r, RuntimeError) for r in results.values())
    reader.fail = False
    assert batcher.read("D").plate == "D"


@pytest.mark.ocr
def test_the_reader_batches_give_the_readings_one_at_a_time_gives(plate_reader):
    from tests.factories import draw_plate

    plates = [("7KDM482", "CALIFORNIA"), ("HXT2291", "NEW YORK"), ("K4M9P", ""), ("", "")]
    images = [draw_plate(t, state_name=s) for t, s in plates]
    together = plate_reader.read_plate_images(images)
    alone = [plate_reader.read_plate_image(i) for i in images]
    assert (
        [r.plate for r in together]
        == [r.plate for r in alone]
        == ["7KDM482", "HXT2291", "K4M9P", None]
    )
    assert [r.state for r in together] == [r.state for r in alone]
    for a, b in zip(together, alone, strict=True):
        assert (
            a.confidence == pytest.approx(b.confidence, abs=0.05)
            if b.confidence
            else a.confidence is None
        )
