"""Plate-reading benchmark on real US plates (openalpr-us-dev): crops and vehicle photos.

    .venv/bin/python tests/benchmarks/bench_plates.py [--dataset PATH] [--part crops|vehicles|all]
        [--configs onnx,torch-bf16,torch-f32] [--text-only] [--no-write]

Reads ``plates/`` (crops, ``labels.csv``: file,state,plate) and ``vehicles/`` (photos,
``labels.csv``: file,x,y,w,h,plate).  For each reader configuration (``onnx``: ONNX Runtime,
what the worker runs; ``torch-bf16``: easyocr's modules with the bfloat16 detector;
``torch-f32``: the same in float32, as on a CPU without bfloat16) it measures the strict
exact-read rate, the rate with O and 0 taken as equal, the state accuracy and the
milliseconds per crop; for the first configuration also

- throughput: all crops pushed through the worker's batcher by 8 threads (as the
  threads-pool worker runs 8 tasks), crops per second;
- memory: a fresh process as the worker builds it, resident MB after loading, after 60
  crops and after 5 vehicle photos (VmRSS, and the peak VmHWM);
- confidence: precision (share of reads at or above a threshold that are exactly right)
  and coverage (share of all crops whose read clears it) over thresholds of the calibrated
  confidence, the default review threshold (the lowest with precision >= 98%), and the
  curve as ``docs/reading-confidence.svg``;
- vehicles (``--part vehicles`` or ``all``): exact, plate found, ms per photo, and how often
  the plate detector's best region (or one of those read) holds the plate; with
  ``--text-only`` the same reader again without the plate detector.

Each part's figures are kept in ``var/bench-reading.json``, so the parts can be run
separately (each under its own exclusive lock) and the section of docs/PERFORMANCE.md is
written from all of them.  The dataset is for measuring only; nothing here is learnt from it.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from tests.benchmarks.report import write_section  # noqa: E402

DEFAULT_DATASET = ROOT / ".." / "shared" / "datasets" / "openalpr-us-dev"
RESULTS = ROOT / "var" / "bench-reading.json"
SVG = ROOT / "docs" / "reading-confidence.svg"
TARGET_PRECISION = 0.98
OPENALPR_CROPS = 0.843  # OpenALPR's published output on the same 356 crops, scored the same way


def o_is_0(text: str | None) -> str | None:
    return None if text is None else text.replace("O", "0")


def pct(n: float, d: float = 1.0) -> str:
    return f"{100 * n / d:.1f}%" if d else "n/a"


def _timing(ms: list[float]) -> dict:
    return {
        "median_ms": statistics.median(ms) if ms else 0.0,
        "p90_ms": sorted(ms)[int(0.9 * (len(ms) - 1))] if ms else 0.0,
    }


def _load(path: Path) -> Image.Image:
    with Image.open(path) as im:
        im.load()
        return im.convert("RGB")


def make_reader(config: str, threads: int):
    from captures.reading.pipeline import PlateReader

    runtime = "onnx" if config == "onnx" else "torch"
    bf16 = {"torch-bf16": True, "torch-f32": False}.get(config)
    if bf16 and config == "torch-bf16":
        from captures.reading.engine import cpu_has_bf16

        if not cpu_has_bf16():
            sys.exit("torch-bf16: this CPU has no native bfloat16")
    t0 = time.perf_counter()
    reader = PlateReader(
        model="plate",
        base_dir=ROOT / "var" / "easyocr",
        threads=threads,
        runtime=runtime,
        bf16=bf16,
    )
    load_s = time.perf_counter() - t0
    reader.read_plate_image(Image.new("RGB", (300, 150), "white"))  # one-time costs
    return reader, load_s


def bench_crops(reader, folder: Path, limit: int | None, verbose: bool) -> dict:
    rows = list(csv.DictReader((folder / "labels.csv").open()))[:limit]
    exact = exact_o0 = state_right = state_answered = read = 0
    ms = []
    reads = []
    for row in rows:
        image = _load(folder / row["file"])
        t0 = time.perf_counter()
        r = reader.read_plate_image(image)
        ms.append((time.perf_counter() - t0) * 1000)
        ok = r.plate == row["plate"]
        read += r.plate is not None
        exact += ok
        exact_o0 += o_is_0(r.plate) == o_is_0(row["plate"])
        state_answered += r.state is not None
        state_right += r.state == row["state"]
        reads.append({"ok": ok, "conf": r.confidence, "raw": r.raw_confidence})
        if verbose:
            mark = "ok " if ok else "BAD"
            print(
                f"{mark} {row['file']:<14} {row['plate']:<9} {r.plate!s:<9} {row['state']} "
                f"{r.state} {r.confidence} {ms[-1]:.0f}ms"
            )
    return {
        "n": len(rows),
        "exact": exact,
        "exact_o0": exact_o0,
        "read": read,
        "state_right": state_right,
        "state_answered": state_answered,
        "reads": reads,
        **_timing(ms),
    }


def bench_throughput(reader, folder: Path, limit: int | None, workers: int = 8) -> dict:
    """All crops through the worker's batcher from ``workers`` threads (decoding included,
    as a task decodes its image before asking for the reading)."""
    rows = list(csv.DictReader((folder / "labels.csv").open()))[:limit]
    data = [(folder / row["file"]).read_bytes() for row in rows]
    batcher = reader.batcher
    batcher.batches = batcher.crops = 0
    lock = threading.Lock()
    done = []

    def task(blob: bytes) -> None:
        import io

        with batcher.expecting():
            image = Image.open(io.BytesIO(blob))
            image.load()
            reading = batcher.read(image.convert("RGB"))
        with lock:
            done.append(reading)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(task, data))
    seconds = time.perf_counter() - t0
    return {
        "n": len(done),
        "seconds": seconds,
        "per_second": len(done) / seconds,
        "passes": batcher.batches,
        "mean_batch": batcher.crops / max(1, batcher.batches),
        "threads": workers,
    }


MEMORY_SCRIPT = """
import csv, json, sys
from pathlib import Path
from PIL import Image
def status():
    d = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return {k: int(d[k].split()[0]) // 1024 for k in ("VmRSS", "VmHWM")}
from captures.reading.pipeline import PlateReader
out = {"start": status()}
reader = PlateReader(model="plate", base_dir=sys.argv[1], threads=2)
out["loaded"] = status()
folder = Path(sys.argv[2])
for row in list(csv.DictReader((folder / "plates" / "labels.csv").open()))[:60]:
    reader.read_plate_image(Image.open(folder / "plates" / row["file"]).convert("RGB"))
out["after_crops"] = status()
vehicles = folder / "vehicles" / "labels.csv"
if vehicles.exists():
    for row in list(csv.DictReader(vehicles.open()))[:5]:
        reader.read_vehicle_image(Image.open(folder / "vehicles" / row["file"]).convert("RGB"))
    out["after_vehicles"] = status()
out["torch_imported"] = "torch" in sys.modules
print(json.dumps(out))
"""


def bench_memory(dataset: Path) -> dict:
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", MEMORY_SCRIPT, str(ROOT / "var" / "easyocr"), str(dataset)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def confidence_curve(reads: list[dict], key: str = "conf") -> list[dict]:
    """Precision and coverage of the reads at or above each threshold, 0.00 to 1.00."""
    n = len(reads)
    curve = []
    for step in range(0, 101):
        t = step / 100
        above = [r for r in reads if r[key] is not None and r[key] >= t]
        right = sum(r["ok"] for r in above)
        curve.append(
            {
                "threshold": t,
                "precision": right / len(above) if above else 1.0,
                "coverage": len(above) / n if n else 0.0,
                "count": len(above),
            }
        )
    return curve


def default_threshold(curve: list[dict]) -> dict:
    """The lowest threshold whose reads (and those of every higher one) are >= 98% right;
    where no threshold gets there, the lowest one within half a point of the best precision
    any threshold keeping a quarter of the reads reaches (marked ``reached: False``)."""
    for i, point in enumerate(curve):
        if point["count"] and all(
            p["precision"] >= TARGET_PRECISION for p in curve[i:] if p["count"]
        ):
            return {**point, "reached": True}
    usable = [p for p in curve if p["coverage"] >= 0.25]
    best = max(p["precision"] for p in usable)
    point = next(p for p in usable if p["precision"] >= best - 0.005)
    return {**point, "reached": False}


def write_svg(curve: list[dict], raw_curve: list[dict], chosen: dict, path: Path) -> None:
    """Precision and coverage against the threshold, as a small standalone SVG."""
    w, h, left, top, right, bottom = 640, 400, 60, 30, 20, 50
    pw, ph = w - left - right, h - top - bottom
    lo = 0.5  # the precision axis runs from 50% to 100%

    def xy(t: float, v: float, *, floor: float = 0.0) -> str:
        return f"{left + t * pw:.1f},{top + (1 - (v - floor) / (1 - floor)) * ph:.1f}"

    def line(points: list[str], colour: str, dash: str = "") -> str:
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        return (
            f'<polyline fill="none" stroke="{colour}" stroke-width="2"{extra} '
            f'points="{" ".join(points)}"/>'
        )

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
        f'<text x="{left}" y="18" font-size="14">Plate crops (openalpr-us-dev, {curve[0]["count"]}'
        " reads): reads at or above the threshold</text>",
    ]
    for k in range(0, 11):
        x = left + k / 10 * pw
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ph}" stroke="#eee"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{top + ph + 16}" text-anchor="middle">{k / 10:.1f}</text>'
        )
        y = top + k / 10 * ph
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#eee"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{100 - k * 5}%</text>'
        )
    parts.append(
        f'<text x="{left + pw / 2}" y="{h - 10}" text-anchor="middle">review threshold '
        "(calibrated confidence; dashed: raw score)</text>"
    )
    parts.append(line([xy(p["threshold"], p["precision"], floor=lo) for p in curve], "#1a5fb4"))
    parts.append(
        line([xy(p["threshold"], max(lo, p["coverage"]), floor=lo) for p in curve], "#c64600")
    )
    parts.append(
        line([xy(p["threshold"], p["precision"], floor=lo) for p in raw_curve], "#1a5fb4", "4 3")
    )
    parts.append(
        line(
            [xy(p["threshold"], max(lo, p["coverage"]), floor=lo) for p in raw_curve],
            "#c64600",
            "4 3",
        )
    )
    target_y = top + (1 - (TARGET_PRECISION - lo) / (1 - lo)) * ph
    parts.append(
        f'<line x1="{left}" y1="{target_y:.1f}" x2="{left + pw}" y2="{target_y:.1f}" '
        'stroke="#26a269" stroke-dasharray="2 2"/>'
    )
    cx = left + chosen["threshold"] * pw
    parts.append(f'<line x1="{cx:.1f}" y1="{top}" x2="{cx:.1f}" y2="{top + ph}" stroke="#26a269"/>')
    parts.append(
        f'<text x="{cx + 4:.1f}" y="{top + 14}" fill="#26a269">default {chosen["threshold"]:.2f}: '
        f"precision {100 * chosen['precision']:.1f}%, coverage {100 * chosen['coverage']:.1f}%</text>"
    )
    parts.append(f'<text x="{left + 8}" y="{top + ph - 24}" fill="#1a5fb4">precision</text>')
    parts.append(
        f'<text x="{left + 8}" y="{top + ph - 8}" fill="#c64600">coverage (from 50%)</text>'
    )
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n")


def bench_vehicles(reader, folder: Path, limit: int | None, verbose: bool) -> dict:
    import numpy as np
    from PIL import ImageOps

    from captures.reading.vehicle import DETECTOR_READ

    rows = list(csv.DictReader((folder / "labels.csv").open()))[:limit]
    exact = exact_o0 = found = det_top = det_any = 0
    ms = []
    for row in rows:
        image = _load(folder / row["file"])
        t0 = time.perf_counter()
        r = reader.read_vehicle_image(image)
        ms.append((time.perf_counter() - t0) * 1000)
        exact += r.plate == row["plate"]
        exact_o0 += o_is_0(r.plate) == o_is_0(row["plate"])
        found += _found(r.box, row)
        if reader.plate_detector is not None:  # the plate detector alone, outside the timing
            gray = np.asarray(ImageOps.exif_transpose(image).convert("L"))
            regions = reader.plate_detector.detect(gray, limit=DETECTOR_READ)
            hits = [_found((d.x0, d.y0, d.w, d.h), row) for d in regions]
            det_top += bool(hits and hits[0])
            det_any += any(hits)
        if verbose:
            mark = "ok " if r.plate == row["plate"] else "BAD"
            print(
                f"{mark} {row['file'][:14]:<14} {row['plate']:<9} {r.plate!s:<9} {r.box} {ms[-1]:.0f}ms"
            )
    out = {"n": len(rows), "exact": exact, "exact_o0": exact_o0, "found": found, **_timing(ms)}
    if reader.plate_detector is not None:
        out.update(detector_top=det_top, detector_any=det_any, detector_read=DETECTOR_READ)
    return out


def _found(box, row) -> bool:
    if box is None:
        return False
    x, y, w, h = box
    lx, ly, lw, lh = (int(row[k]) for k in ("x", "y", "w", "h"))
    ix = max(0, min(x + w, lx + lw) - max(x, lx))
    iy = max(0, min(y + h, ly + lh) - max(y, ly))
    return ix * iy >= 0.5 * lw * lh  # most of the labelled plate inside our box


def report(results: dict) -> str:
    lines = [
        "Model `plate-v2`, line finding by CRAFT on a copy 96 px tall, 2 threads, per-state "
        "pattern decoding, state read from the plate; the reader is built once per "
        "configuration.  `onnx` is what the reading worker runs (ONNX Runtime: CRAFT in int8, "
        "the recognizers in float32, no torch in the process); `torch-bf16` and `torch-f32` are easyocr's own modules with "
        "the detector in bfloat16 (CPUs with AVX512-BF16/AMX) or float32 (any CPU).",
        "",
        "| crops (plates/) | images | strict exact | exact, O = 0 | state right | median ms | p90 ms | load avg before |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for config, c in results.get("crops", {}).items():
        lines.append(
            f"| {config} | {c['n']} | {pct(c['exact'], c['n'])} | {pct(c['exact_o0'], c['n'])} "
            f"| {pct(c['state_right'], c['n'])} (answered {pct(c['state_answered'], c['n'])}) "
            f"| {c['median_ms']:.0f} | {c['p90_ms']:.0f} | {c.get('load', '?')} |"
        )
    lines.append(
        f"| OpenALPR (published output, same files) | 356 | {pct(OPENALPR_CROPS)} | | | | | |"
    )
    v = results.get("vehicles")
    if v:
        lines += [
            "",
            "| vehicles/ (end to end) | photos | strict exact | exact, O = 0 | plate found | median ms | p90 ms | load avg before |",
            "|---|---|---|---|---|---|---|---|",
        ]
        rows = [v] + ([v["text_only"]] if v.get("text_only") else [])
        for row in rows:
            name = row["config"] + (
                " (plate detector, text detector as fallback)"
                if "detector_top" in row
                else " (text detector only)"
            )
            lines.append(
                f"| {name} | {row['n']} | {pct(row['exact'], row['n'])} "
                f"| {pct(row['exact_o0'], row['n'])} | {pct(row['found'], row['n'])} "
                f"| {row['median_ms']:.0f} | {row['p90_ms']:.0f} | {row.get('load', '?')} |"
            )
        if "detector_top" in v:
            lines += [
                "",
                f"The plate detector alone (`models/plate_detector.onnx`, outside the timing): its "
                f"best region holds the plate in **{pct(v['detector_top'], v['n'])}** of the "
                f"photos, one of its first {v['detector_read']} in "
                f"**{pct(v['detector_any'], v['n'])}** (most of the labelled box inside the "
                "region, as for *plate found*).",
            ]
    t = results.get("throughput")
    if t:
        lines += [
            "",
            f"**Throughput** ({t['config']}): {t['n']} crops through the worker's batcher from "
            f"{t['threads']} threads in {t['seconds']:.1f} s = **{t['per_second']:.1f} crops/s** "
            f"({t['passes']} passes, {t['mean_batch']:.1f} crops per pass; load average before "
            f"{t.get('load', '?')}).",
        ]
    m = results.get("memory")
    if m:
        after = m.get("after_vehicles", m["after_crops"])
        lines += [
            "",
            f"**Memory** (a fresh process built as the worker builds it, `onnx`; torch imported: "
            f"{m['torch_imported']}): {m['loaded']['VmRSS']} MB resident with the models "
            f"loaded, {m['after_crops']['VmRSS']} MB after 60 crops, {after['VmRSS']} MB after "
            f"5 vehicle photos; peak (VmHWM) **{after['VmHWM']} MB**.",
        ]
    conf = results.get("confidence")
    if conf:
        d = conf["default"]
        lines += [
            "",
            f"**Confidence** ({conf['config']}, calibrated on held-out synthetic plates, one map "
            "for the reads that fit a plate format of their state or a common US one and one "
            "for the others, `captures/reading/models/calibration.json`): precision = share of reads at or "
            "above the threshold that are exactly right; coverage = share of all crops whose "
            "read clears it.  Default review threshold (`ALPR_REVIEW_THRESHOLD_PERCENT`): the lowest "
            + (
                f"with precision >= 98% at it and above: **{d['threshold']:.2f}** (precision "
                f"{pct(d['precision'])}, coverage {pct(d['coverage'])})."
                if d.get("reached", True)
                else "with precision >= 98% at it and above: **none** (no threshold gets "
                "there: the best precision is ~97%, kept from about half the reads up); the "
                f"default is the lowest within half a point of that best, **{d['threshold']:.2f}** "
                f"(precision {pct(d['precision'])}, coverage {pct(d['coverage'])})."
            )
            + "  Curve: [reading-confidence.svg](reading-confidence.svg).",
            "",
            "| threshold | precision | coverage | raw score: precision | raw: coverage |",
            "|---|---|---|---|---|",
        ]
        for cal, raw in zip(conf["curve"], conf["raw_curve"], strict=True):
            if round(cal["threshold"] * 100) % 10 == 0 or cal["threshold"] == d["threshold"]:
                lines.append(
                    f"| {cal['threshold']:.2f} | {pct(cal['precision'])} | {pct(cal['coverage'])} "
                    f"| {pct(raw['precision'])} | {pct(raw['coverage'])} |"
                )
    lines += [
        "",
        "Strict exact: the whole plate read exactly as labelled (OpenALPR: 84.3% of these "
        "crops). O = 0: equal after mapping the letter O to the digit 0 (several labels write "
        "0 where the plate spells O). State right: the two-letter code read from the plate "
        "itself, over all crops.",
    ]
    return "\n".join(lines)


def _load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--part", choices=("crops", "vehicles", "all"), default="all")
    parser.add_argument("--configs", default="onnx,torch-bf16,torch-f32")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="Only the first N images.")
    parser.add_argument("--no-write", action="store_true", help="Print only; leave docs alone.")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument(
        "--text-only",
        action="store_true",
        help="Vehicles: also measure the reader without the plate detector.",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="Measure nothing: rewrite the section and the SVG from var/bench-reading.json.",
    )
    args = parser.parse_args()
    if args.report_only:
        results = json.loads(RESULTS.read_text())
        conf = results["confidence"]
        conf["default"] = default_threshold(conf["curve"])
        write_svg(conf["curve"], conf["raw_curve"], conf["default"], SVG)
        RESULTS.write_text(json.dumps(results))
        body = report(results)
        print(body)
        write_section("plate-reading", "Plate reading", body)
        return

    dataset = args.dataset.resolve()
    if not (dataset / "plates" / "labels.csv").exists():
        sys.exit(f"No dataset at {dataset} (expected plates/labels.csv); pass --dataset PATH.")
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    if args.part in ("crops", "all"):
        results["crops"] = {}
        for i, config in enumerate(configs):
            load = _load_average()
            reader, load_s = make_reader(config, args.threads)
            c = bench_crops(reader, dataset / "plates", args.limit, args.verbose)
            c.update(load=load, load_s=load_s)
            results["crops"][config] = c
            print(config, pct(c["exact"], c["n"]), f"{c['median_ms']:.0f} ms", flush=True)
            if i == 0:
                load = _load_average()
                t = bench_throughput(reader, dataset / "plates", args.limit)
                results["throughput"] = {**t, "config": config, "load": load}
                print("throughput", f"{t['per_second']:.1f}/s", flush=True)
                curve = confidence_curve(c["reads"], "conf")
                raw_curve = confidence_curve(c["reads"], "raw")
                chosen = default_threshold(curve)
                results["confidence"] = {
                    "config": config,
                    "curve": curve,
                    "raw_curve": raw_curve,
                    "default": chosen,
                }
                if not args.no_write:
                    write_svg(curve, raw_curve, chosen, SVG)
            del reader
        results["memory"] = bench_memory(dataset)
        print("memory", results["memory"], flush=True)
    if args.part in ("vehicles", "all") and (dataset / "vehicles" / "labels.csv").exists():
        load = _load_average()
        reader, _ = make_reader(configs[0], args.threads)
        v = bench_vehicles(reader, dataset / "vehicles", args.limit, args.verbose)
        results["vehicles"] = {**v, "config": configs[0], "load": load}
        if args.text_only:  # the same reader without the plate detector, for comparison
            detector, reader.plate_detector = reader.plate_detector, None
            load = _load_average()
            t = bench_vehicles(reader, dataset / "vehicles", args.limit, args.verbose)
            results["vehicles"]["text_only"] = {**t, "config": configs[0], "load": load}
            reader.plate_detector = detector
    body = report(results)
    print(body)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results))
        write_section("plate-reading", "Plate reading", body)


if __name__ == "__main__":
    main()
