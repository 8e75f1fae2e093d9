"""Write a benchmark's figures into its own section of docs/PERFORMANCE.md."""

from __future__ import annotations

import datetime
import os
import platform
import re
import shlex
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "PERFORMANCE.md"
HEADER = """# Performance

Figures measured on the project's machines (2 cores, 24 GiB, Debian 12, Python 3.11).
Each section is rewritten by the benchmark named in it; rerun the command to refresh it.
Benchmarks live in `tests/benchmarks/` and are not part of `make test`.
"""


def write_section(name: str, title: str, body: str) -> None:
    """Replace (or append) the section ``name`` with ``body``, stamped with the command."""
    command = "python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *sys.argv[1:]])
    stamp = (
        f"_Measured {datetime.date.today():%Y-%m-%d} on {platform.node() or 'this machine'} "
        f"({os.cpu_count()} cores) with:_\n\n```sh\n{command}\n```\n"
    )
    section = (
        f"<!-- bench:{name} -->\n## {title}\n\n{stamp}\n{body.strip()}\n<!-- /bench:{name} -->"
    )
    text = DOC.read_text() if DOC.exists() else HEADER
    pattern = re.compile(
        rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S
    )
    text = (
        pattern.sub(lambda _: section, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + section + "\n"
    )
    DOC.write_text(text)
