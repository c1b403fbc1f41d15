#!/usr/bin/env python3
"""Re-make the tables of docs/results.md from the raw `zoa stream` logs kept in the repository, and fail when a row
the page prints differs from what the logs give.

A data directory (e.g. docs/results/fmnist-c-10k/) holds the logs tools/bench_fmnist.sh wrote (one per run) and a
file `run.env` with the KEY=VALUE settings of that run (MODELS, PRECISIONS, LIMIT, ROUNDS, FOA, BANK, ...). The
check runs `TABLES_ONLY=1 OUT=<data dir> <settings> tools/bench_fmnist.sh` (which runs nothing and writes nothing,
it only reads the logs) and requires every table row it prints to be a line of the page.

usage: tools/check_results.py DATA_DIR PAGE                 exit 0: every row is on the page; 1: rows differ
       tools/check_results.py --expect-drift DATA_DIR PAGE  changes one number of one row in a copy of the page and
                                                            exits 0 only if the check then fails (tests the check)
"""
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def table_rows(data_dir):
    """The table rows (lines starting with '|', separators excluded) bench_fmnist.sh prints from data_dir's logs."""
    env = dict(os.environ)
    env_file = data_dir / "run.env"
    for n, line in enumerate(env_file.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Z_]+", key):
            sys.exit("check_results: %s:%d: expected KEY=VALUE, got '%s'" % (env_file, n, line))
        env[key] = value
    env.update(TABLES_ONLY="1", OUT=str(data_dir.resolve()))
    p = subprocess.run([str(ROOT / "tools" / "bench_fmnist.sh")], env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("check_results: bench_fmnist.sh TABLES_ONLY=1 on %s failed (exit %d): %s"
                 % (data_dir, p.returncode, p.stderr.strip()))
    return [l for l in p.stdout.splitlines() if l.startswith("|") and not re.fullmatch(r"[|\-: ]+", l)]


def missing_rows(rows, page_text):
    lines = set(page_text.splitlines())
    return [r for r in rows if r not in lines]


def main():
    args = sys.argv[1:]
    expect_drift = bool(args) and args[0] == "--expect-drift"
    if expect_drift:
        args = args[1:]
    if len(args) != 2:
        sys.exit(__doc__.split("\n\n")[-1])
    data_dir, page = Path(args[0]), Path(args[1])
    rows = table_rows(data_dir)
    if not rows:
        sys.exit("check_results: bench_fmnist.sh printed no table row from %s" % data_dir)
    text = page.read_text()
    if expect_drift:
        # change the last number of the first row with numbers that is on the page (e.g. 64.46 -> 64.47)
        row = next((r for r in rows if r in text.splitlines() and re.search(r"\d\.\d", r)), None)
        if row is None:
            sys.exit("check_results --expect-drift: no row of %s is on %s" % (data_dir, page))
        m = list(re.finditer(r"(\d+)\.(\d+)", row))[-1]
        bumped = row[:m.start()] + "%s.%s" % (m.group(1), str(int(m.group(2)) + 1).zfill(len(m.group(2)))) + row[m.end():]
        with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False) as f:
            f.write(text.replace(row, bumped, 1))
        try:
            drifted = missing_rows(rows, Path(f.name).read_text())
        finally:
            os.unlink(f.name)
        if drifted != [row]:
            print("check_results --expect-drift: a changed number was not detected (missing rows: %s)" % drifted)
            return 1
        print("check_results --expect-drift: the changed row is reported, as it should be")
        return 0
    missing = missing_rows(rows, text)
    for r in missing:
        print("%s: row not on the page (or differs): %s" % (page, r))
    print("check_results: %d of %d rows from %s match %s" % (len(rows) - len(missing), len(rows), data_dir, page))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
