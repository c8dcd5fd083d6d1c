"""Write a benchmark's markdown section into docs/benchmarks.md (idempotently)."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def machine_line():
    """One line naming the machine (its processor and torch's CPU kernel instruction
    set, as adapter cards name them: machines of one kind can differ several-fold in
    speed), Python and torch, and today's date."""
    import torch

    from sktime_llmforecast.pretraining.throughput import processor

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (
        f"{os.cpu_count()} CPU cores ({processor()}), {gpu}, Python "
        f"{platform.python_version()}, torch {torch.__version__}, "
        f"{_dt.date.today().isoformat()}"
    )


def save_rows(rows, path):
    """Write ``rows`` (a list of dicts) to the CSV ``path``, creating its folder: a
    resumable benchmark calls it after every result."""
    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)


def write_section(name, body):
    """Replace (or append) the section ``name`` of docs/benchmarks.md with ``body``."""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else (
        text.rstrip() + "\n\n" + block + "\n"
    )
    DOC.write_text(text)
    print(f"wrote section {name!r} of {DOC}", file=sys.stderr)


def mean_std(runs, key, digits):
    """``runs[i][key]`` as ``mean ± std`` over seeds (the value alone for one run)."""
    import numpy as np

    vals = np.array([r[key] for r in runs], dtype=float)
    if len(vals) == 1:
        return f"{vals[0]:.{digits}f}"
    return f"{vals.mean():.{digits}f} ± {vals.std(ddof=1):.{digits}f}"


def seeded_main(section, run, markdown, argv=None):
    """CLI of a seeded benchmark: ``--seeds``, run, print and write its section.

    ``run(seeds)`` returns the results, ``markdown(results, seeds, machine)`` the
    section's text.
    """
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    body = markdown(run(args.seeds), args.seeds, machine_line())
    print(body)
    write_section(section, body)
