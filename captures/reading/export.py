"""Export the reader's three networks from easyocr/torch to ONNX, for the ONNX Runtime engine.

    python -m captures.reading.export OUT_DIR [--model plate|stock] [--base-dir EASYOCR_DIR]

Writes ``craft.onnx`` (the CRAFT text detector, any input size), ``recognizer.onnx`` (the
plate recognizer, ``plate_v2`` or english_g2) and ``words.onnx`` (english_g2, which reads
state names), each taking a batch of any width, and ``manifest.json`` (the MD5 of every
source weight file, the character lists, the torch version).  The networks are exported in
float32 from the same weights the torch engine loads (easyocr quantises its recognizers to
int8 on the CPU; the export does not), then optimised once by ONNX Runtime (``optimise``).

The reading worker runs this in a child process when its ONNX files are missing or stale
(``captures.reading.onnx_engine.ensure_exported``), so torch is never imported in the
worker itself: importing torch alone costs ~650 MB resident.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from .engine import MODELS_DIR, PLATE_MODEL, prepare_model_dirs

OPSET = 17
# Bumped when what is exported changes shape (2: the word recognizer takes any height).
EXPORT_VERSION = 2


def md5(path: Path) -> str:
    h = hashlib.md5()  # noqa: S324 - a fingerprint, not security
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def source_weights(model: str) -> dict[str, Path]:
    """The weight files an export is made from (their MD5s decide if it is stale)."""
    import easyocr_en_models

    stock = Path(easyocr_en_models.model_dir())
    found = {"craft": stock / "craft_mlt_25k.pth", "words": stock / "english_g2.pth"}
    found["recognizer"] = (
        MODELS_DIR / f"{PLATE_MODEL}.pth" if model == "plate" else stock / "english_g2.pth"
    )
    return found


def cpu_signature() -> str:
    """This CPU's model and feature flags: the stored graphs are laid out for them."""
    flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "flags")):
                flags += line
    except OSError:
        pass
    import platform

    return hashlib.md5((platform.machine() + flags).encode()).hexdigest()  # noqa: S324


def optimise(path: Path) -> None:
    """Run ONNX Runtime's optimiser once, here, and store the result: the worker then loads
    the graph as it is (``ORT_DISABLE_ALL``), which halves a session's resident memory (the
    optimiser otherwise keeps both copies of the weights) and its start-up time.  All levels
    are applied, the CPU-specific layouts (NCHWc) included: the export runs on the machine
    that uses it, and the manifest's ``cpu`` makes another CPU export again."""
    import onnxruntime as ort

    ort.set_default_logger_severity(3)  # the hardware-specific layout is meant
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    tmp = path.with_suffix(".opt.onnx")
    options.optimized_model_filepath = str(tmp)
    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    tmp.replace(path)


def export(
    out: Path, *, model: str = "plate", base_dir: Path | None = None, optimised: bool = True
) -> dict:
    import torch

    # The bf16 copy of the detector is a torch-only speed-up; export the float32 original.
    from .engine import Engine

    out.mkdir(parents=True, exist_ok=True)
    base = base_dir or out / "easyocr"
    prepare_model_dirs(base, model)
    engine = Engine(model=model, base_dir=base, threads=2, bf16=False)
    detector = engine.reader.detector
    detector.eval()

    class Detector(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            y, _feature = self.net(x)
            return y

    class Recognizer(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            # easyocr's Model.forward, with its AdaptiveAvgPool2d((None, 1)) written as the
            # mean over the feature map's height (the same numbers; the pooling does not
            # export with a variable width).
            net = self.net
            feature = net.FeatureExtraction(x).permute(0, 3, 1, 2).mean(dim=3)
            out = net.Prediction(net.SequenceModeling(feature).contiguous())
            return torch.softmax(out, dim=2)

    def unquantized(characters: str, weights: Path):
        """easyocr's generation-2 CRNN with these weights, left in float32."""
        from easyocr.recognition import get_recognizer

        net, conv = get_recognizer(
            "generation2",
            {"input_channel": 1, "output_channel": 256, "hidden_size": 256},
            characters,
            {},
            {},
            str(weights),
            device="cpu",
            quantize=False,
        )
        return net.eval(), conv.character

    import yaml
    from easyocr.config import recognition_models

    g2_chars = recognition_models["gen2"]["english_g2"]["characters"]
    plate_chars = yaml.safe_load((MODELS_DIR / f"{PLATE_MODEL}.yaml").read_text())["character_list"]
    weights = source_weights(model)
    recognizer, rec_chars = unquantized(
        plate_chars if model == "plate" else g2_chars, weights["recognizer"]
    )
    words, word_chars = unquantized(g2_chars, weights["words"])
    with torch.no_grad():
        torch.onnx.export(
            Detector(detector),
            (torch.zeros(1, 3, 96, 224),),
            str(out / "craft.onnx"),
            input_names=["image"],
            output_names=["maps"],
            dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}, "maps": {0: "n", 1: "h2", 2: "w2"}},
            opset_version=OPSET,
            dynamo=False,
        )
        # The word recognizer (state names) takes any height: the state's words are read
        # smaller than the number (``onnx_engine.WORD_H``).
        for name, net, lines_axes in (
            ("recognizer.onnx", recognizer, {0: "n", 3: "w"}),
            ("words.onnx", words, {0: "n", 2: "h", 3: "w"}),
        ):
            torch.onnx.export(
                Recognizer(net),
                (torch.zeros(2, 1, 64, 200),),
                str(out / name),
                input_names=["lines"],
                output_names=["probs"],
                dynamic_axes={"lines": lines_axes, "probs": {0: "n", 1: "t"}},
                opset_version=OPSET,
                dynamo=False,
            )
    for name in ("craft.onnx", "recognizer.onnx", "words.onnx"):
        if optimised:
            optimise(out / name)
    manifest = {
        "model": model,
        "name": engine.name,
        "sources": {k: md5(p) for k, p in weights.items()},
        "recognizer_chars": list(rec_chars),
        "word_chars": list(word_chars),
        "torch": torch.__version__,
        "cpu": cpu_signature(),
        "opset": OPSET,
        "version": EXPORT_VERSION,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", choices=("plate", "stock"), default="plate")
    parser.add_argument("--base-dir", type=Path, default=None, help="easyocr's folders")
    args = parser.parse_args(argv)
    manifest = export(args.out, model=args.model, base_dir=args.base_dir)
    print(f"exported {manifest['name']} to {args.out}")


if __name__ == "__main__":
    main()
