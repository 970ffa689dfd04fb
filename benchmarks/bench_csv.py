"""CSV parsing benchmark: registry.csvio.parse_csv on 1 million rows x 20 columns.

Baseline in the same run: the standard library's csv.reader reading the same bytes into
rows and columns (no typing). Prints a markdown table; the target is an absolute one from
issue 5 (under 10 s for 1 million rows x 20 columns), reported beside the ratio. The same
file with every field quoted is timed once too: a quoted file is first checked for quoting
that the strict csv module would refuse (registry/csvio.py), and the table shows what that
costs.

    uv run python benchmarks/bench_csv.py [--rows 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlsite.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only")
os.environ.setdefault("MLSERVE_MAX_UPLOAD_MB", "1024")

from benchmarks.bench_serving import cpu_model  # noqa: E402


def make_csv(rows: int, columns: int = 20) -> bytes:
    """16 numeric columns (some missing cells) and 4 categorical ones."""
    rng = np.random.default_rng(0)
    parts = []
    for j in range(columns):
        if j % 5 == 4:
            parts.append(rng.choice(np.array(["red", "green", "blue", "amber"]), rows))
        else:
            values = np.round(rng.normal(size=rows) * 100, 3).astype(str)
            values[rng.random(rows) < 0.01] = ""
            parts.append(values)
    header = ",".join(f"c{j}" for j in range(columns))
    body = "\n".join(",".join(row) for row in np.column_stack(parts).tolist())
    return f"{header}\n{body}\n".encode()


def stdlib_baseline(data: bytes) -> int:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    columns = list(zip(*rows[1:], strict=True))
    return len(columns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    from registry.csvio import parse_csv

    data = make_csv(args.rows)
    ours, theirs = [], []
    parse_csv(data[: len(data) // 50].rsplit(b"\n", 1)[0] + b"\n")  # warm up
    for _ in range(args.repeats):
        started = time.perf_counter()
        table = parse_csv(data, max_rows=args.rows)
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        stdlib_baseline(data)
        theirs.append(time.perf_counter() - started)
    assert table.n_rows == args.rows
    quoted = b"\n".join(
        b",".join(b'"' + cell + b'"' for cell in line.split(b","))
        for line in data.rstrip(b"\n").split(b"\n")
    )
    started = time.perf_counter()
    parse_csv(quoted, max_rows=args.rows)
    quoted_s = time.perf_counter() - started
    ours_s, theirs_s = statistics.median(ours), statistics.median(theirs)
    cpu = cpu_model()
    print(
        f"\nbench_csv: {cpu}, {os.cpu_count()} cores, {args.rows:,} rows x 20 columns "
        f"({len(data) / 1e6:.0f} MB), median of {args.repeats}\n"
    )
    print("| parser | seconds | ratio to csv.reader | target | result |")
    print("|---|---|---|---|---|")
    verdict = "PASS" if ours_s < 10 else "FAIL"
    print(
        f"| csvio.parse_csv (typed columns + schema) | {ours_s:.2f} | {ours_s / theirs_s:.2f} | "
        f"< 10 s | {verdict} |"
    )
    print(
        f"| csvio.parse_csv, every field quoted (quoting checked, once) | {quoted_s:.2f} "
        f"| {quoted_s / theirs_s:.2f} | | |"
    )
    print(f"| csv.reader + zip (untyped, baseline) | {theirs_s:.2f} | 1.00 | | |")
    sys.exit(0 if verdict == "PASS" else 1)


if __name__ == "__main__":
    main()
