"""``python -m captures.reading.training``: retrain the plate recognizer (no Django needed)."""

import argparse

from captures.reading.training.train import add_arguments, run_from_options

parser = argparse.ArgumentParser(
    prog="python -m captures.reading.training",
    description="Fine-tune easyocr's english_g2 recognizer on synthetic plate lines (CPU).",
)
add_arguments(parser)
run_from_options(vars(parser.parse_args()), log=lambda m: print(m, flush=True))
