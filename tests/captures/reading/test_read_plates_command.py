import json
from io import StringIO

import pytest
from django.core.management import call_command

import captures.reading as reading
import captures.reading.pipeline as pipeline
from tests.factories import draw_plate

pytestmark = pytest.mark.ocr


def test_read_plates_prints_one_json_line_per_file_and_loads_the_reader_once(
    plate_reader, tmp_path, monkeypatch
):
    files = []
    for text in ("7KDM482", "HXT2291", "482VNK"):
        path = tmp_path / f"{text}.png"
        draw_plate(text).save(path)
        files.append(str(path))
    blank = tmp_path / "blank.jpg"
    draw_plate("").save(blank)
    files.append(str(blank))

    built = []

    def factory(**kwargs):
        built.append(kwargs)
        return plate_reader

    monkeypatch.setattr(reading, "_reader", None)
    monkeypatch.setattr(pipeline, "PlateReader", factory)  # get_reader builds it from here
    out = StringIO()
    call_command("read_plates", "--json", *files, stdout=out)

    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(built) == 1
    assert [r["file"] for r in rows] == files
    assert [r["plate"] for r in rows] == ["7KDM482", "HXT2291", "482VNK", None]
    assert rows[3]["state"] is None
    assert rows[3]["confidence"] is None
    for r in rows:
        assert set(r) == {"file", "plate", "state", "confidence", "ms"}
        assert r["ms"] > 0


def test_read_plates_reports_unreadable_files(plate_reader, tmp_path, monkeypatch):
    bad = tmp_path / "not-an-image.png"
    bad.write_text("hello")
    monkeypatch.setattr(reading, "_reader", plate_reader)
    err = StringIO()
    with pytest.raises(Exception, match="No file could be read"):
        call_command("read_plates", str(bad), stdout=StringIO(), stderr=err)
    assert "not a readable image" in err.getvalue()
