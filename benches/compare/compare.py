#!/usr/bin/env python3
"""Side-by-side timings: rollaudit against DuckDB and Polars on the same files, in one run.

Usage:
    python3 benches/compare/compare.py [--voters 1000000] [--repeat 3] [--out results.csv]

It builds rollaudit in release mode, generates a register with `rollaudit generate` (cached
under benches/compare/data/), creates a virtual environment with the peers
(benches/compare/.venv: duckdb, polars), then times each tool doing the same work on the same
file. Every measurement runs in a fresh process; the median of --repeat runs is reported with
the peak resident memory of that process (ru_maxrss). Results go to stdout and to a CSV.

Tasks so far:
  load   read the CSV into columnar memory. rollaudit: `ingest` (parse, type, fingerprint,
         sort by voter_id, write Parquet; more work than the peers). DuckDB:
         CREATE TABLE t AS SELECT * FROM read_csv(...). Polars: pl.read_csv(...).
"""
import argparse
import csv
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENV = HERE / ".venv"
DATA = HERE / "data"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/rollaudit-target"))
BIN = TARGET / "release" / "rollaudit"

PEER_SNIPPETS = {
    "duckdb": (
        "import duckdb,sys; c=duckdb.connect(); "
        "c.execute(\"CREATE TABLE t AS SELECT * FROM read_csv('{path}', header=true, all_varchar=false)\"); "
        "print(c.execute('SELECT count(*) FROM t').fetchone()[0])"
    ),
    "polars": (
        "import polars as pl; df=pl.read_csv('{path}', infer_schema_length=10000); print(df.height)"
    ),
}


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def ensure_venv():
    py = VENV / "bin" / "python"
    if not py.exists():
        sh([sys.executable, "-m", "venv", str(VENV)])
        sh([str(py), "-m", "pip", "install", "-q", "duckdb", "polars"])
    return py


def ensure_data(voters):
    out = DATA / f"v{voters}"
    files = sorted(out.glob("register-*.csv"))
    if not files:
        out.mkdir(parents=True, exist_ok=True)
        sh([str(BIN), "generate", "--voters", str(voters), "--snapshots", "2",
            "--seed", "7", "--format", "csv", "-o", str(out)], stdout=subprocess.DEVNULL)
        files = sorted(out.glob("register-*.csv"))
    return files


def timed(cmd):
    """Runs cmd in a fresh process; returns (seconds, peak RSS in MiB of that process)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, rusage = os.wait4(p.pid, 0)
    elapsed = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd} failed: {p.stderr.read().decode()}")
    return elapsed, rusage.ru_maxrss / 1024


def measure(cmd, repeat):
    runs = [timed(cmd) for _ in range(repeat)]
    secs = statistics.median(r[0] for r in runs)
    mem = max(r[1] for r in runs)
    return secs, mem


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--voters", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(HERE / "results.csv"))
    args = ap.parse_args()

    sh(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    py = ensure_venv()
    files = ensure_data(args.voters)
    src = files[0]
    size_mb = src.stat().st_size / 1e6
    parquet = DATA / f"v{args.voters}" / "ingested.parquet"

    rows = []
    ra = measure([str(BIN), "ingest", str(src), "-o", str(parquet)], args.repeat)
    rows.append(("load", "rollaudit ingest", *ra))
    for peer, snippet in PEER_SNIPPETS.items():
        r = measure([str(py), "-c", snippet.format(path=src)], args.repeat)
        rows.append(("load", peer, *r))

    base = {task: secs for task, tool, secs, _ in rows if tool.startswith("rollaudit")}
    print(f"machine: {os.cpu_count()} cores; file {src.name}: {size_mb:.0f} MB, {args.voters} voters")
    print(f"{'task':<8} {'tool':<18} {'median s':>9} {'MB/s':>8} {'peak MiB':>9} {'time / rollaudit':>17}")
    with open(args.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["task", "tool", "voters", "median_seconds", "mb_per_s", "peak_mib", "ratio_to_rollaudit"])
        for task, tool, secs, mem in rows:
            ratio = secs / base[task]
            print(f"{task:<8} {tool:<18} {secs:>9.2f} {size_mb / secs:>8.0f} {mem:>9.0f} {ratio:>17.2f}")
            w.writerow([task, tool, args.voters, f"{secs:.3f}", f"{size_mb / secs:.1f}", f"{mem:.0f}", f"{ratio:.2f}"])


if __name__ == "__main__":
    main()
