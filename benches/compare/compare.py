#!/usr/bin/env python3
"""Side-by-side timings: rollaudit against DuckDB and Polars on the same files, in one run.

Usage:
    python3 benches/compare/compare.py [--voters 1000000] [--repeat 3] [--out results.csv]

It builds rollaudit in release mode, generates a register with `rollaudit generate` (cached
under benches/compare/data/), creates a virtual environment with the peers
(benches/compare/.venv: duckdb, polars), then times each tool doing the same work on the same
file. Every measurement runs in a fresh process; the median of --repeat runs is reported with
the peak resident memory of that process (ru_maxrss). Results go to stdout and to a CSV.

Tasks:
  load           read one snapshot CSV into columnar memory. rollaudit: `ingest` (parse, type,
                 fingerprint, sort by voter_id, write Parquet: more work than the peers).
                 DuckDB: CREATE TABLE t AS SELECT * FROM read_csv(...). Polars: pl.read_csv.
  diff_csv       from the two CSV exports: load both, full outer join on voter_id, one row per
                 changed field (voter_id, field, old_value, new_value), written to Parquet.
                 rollaudit: `diff OLD.csv NEW.csv` (also classifies every change and writes
                 CSV, summary and JSON).
  diff_ingested  the same from the two ingested Parquet files (rollaudit's own columnar form).
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

# The canonical fields compared by the peers' diff (voter_id is the key).
FIELDS = [
    "national_id", "given_name", "middle_name", "family_name", "name_suffix", "birth_date",
    "birth_year", "sex", "address_line", "house_number", "street", "unit", "locality",
    "postcode", "region", "district", "precinct", "registration_date", "status",
    "status_reason", "party", "phone", "email", "changed_at", "changed_by",
]

DUCKDB_LOAD = """
import duckdb
Q = chr(34)  # the quote character, spelled out so that it survives two layers of quoting
c = duckdb.connect()
c.execute("CREATE TABLE t AS SELECT * FROM read_csv('{a}', header=true, quote='" + Q + "', escape='" + Q + "')")
print(c.execute("SELECT count(*) FROM t").fetchone()[0])
"""

DUCKDB_DIFF = """
import duckdb
Q = chr(34)  # the quote character, spelled out so that it survives two layers of quoting
fields = {fields!r}
c = duckdb.connect()
src = {src!r}
if src == "csv":
    c.execute("CREATE TABLE o AS SELECT * FROM read_csv('{a}', header=true, quote='" + Q + "', escape='" + Q + "', all_varchar=true)")
    c.execute("CREATE TABLE n AS SELECT * FROM read_csv('{b}', header=true, quote='" + Q + "', escape='" + Q + "', all_varchar=true)")
else:
    c.execute("CREATE TABLE o AS SELECT * FROM read_parquet('{a}')")
    c.execute("CREATE TABLE n AS SELECT * FROM read_parquet('{b}')")
values = ", ".join(f"('{{f}}', CAST(o.{{f}} AS VARCHAR), CAST(n.{{f}} AS VARCHAR))" for f in fields)
c.execute(
    "COPY (SELECT coalesce(o.voter_id, n.voter_id) AS voter_id, v.field, v.old_value, v.new_value "
    "FROM o FULL OUTER JOIN n ON o.voter_id = n.voter_id, "
    f"LATERAL (VALUES {{values}}) v(field, old_value, new_value) "
    "WHERE v.old_value IS DISTINCT FROM v.new_value) TO '{out}' (FORMAT parquet)"
)
"""

POLARS_LOAD = """
import polars as pl
print(pl.read_csv('{a}', infer_schema_length=10000).height)
"""

POLARS_DIFF = """
import polars as pl
fields = {fields!r}
if {src!r} == "csv":
    o = pl.read_csv('{a}', infer_schema_length=0)
    n = pl.read_csv('{b}', infer_schema_length=0)
else:
    o = pl.read_parquet('{a}').drop(["_fingerprint", "_line"]).cast(pl.String)
    n = pl.read_parquet('{b}').drop(["_fingerprint", "_line"]).cast(pl.String)
j = o.join(n, on="voter_id", how="full", suffix="_new", coalesce=True)
parts = [
    j.filter(pl.col(f).ne_missing(pl.col(f + "_new"))).select(
        pl.col("voter_id"), pl.lit(f).alias("field"),
        pl.col(f).alias("old_value"), pl.col(f + "_new").alias("new_value"))
    for f in fields if f in o.columns and f in n.columns
]
pl.concat(parts).write_parquet('{out}')
"""


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


def mem_gib():
    with open("/proc/meminfo") as f:
        return int(f.readline().split()[1]) / 2**20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--voters", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(HERE / "results.csv"))
    ap.add_argument("--tasks", default="", help="comma-separated subset of the tasks")
    ap.add_argument("--tools", default="", help="comma-separated subset of the tools (rollaudit always runs)")
    args = ap.parse_args()

    sh(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    py = ensure_venv()
    files = ensure_data(args.voters)
    size_mb = files[0].stat().st_size / 1e6

    old_csv, new_csv = files[0], files[1]
    work = DATA / f"v{args.voters}"
    old_pq, new_pq = work / "old.parquet", work / "new.parquet"
    sh([str(BIN), "ingest", str(old_csv), "-o", str(old_pq)], stdout=subprocess.DEVNULL)
    sh([str(BIN), "ingest", str(new_csv), "-o", str(new_pq)], stdout=subprocess.DEVNULL)

    def peer(snippet, **kw):
        return [str(py), "-c", snippet.format(fields=FIELDS, out=work / "peer_changes.parquet", **kw)]

    tasks = [
        ("load", "rollaudit", [str(BIN), "ingest", str(old_csv), "-o", str(work / "load.parquet")]),
        ("load", "duckdb", peer(DUCKDB_LOAD, a=old_csv)),
        ("load", "polars", peer(POLARS_LOAD, a=old_csv)),
        ("diff_csv", "rollaudit", [str(BIN), "diff", str(old_csv), str(new_csv), "-o", str(work / "diff_csv")]),
        ("diff_csv", "duckdb", peer(DUCKDB_DIFF, a=old_csv, b=new_csv, src="csv")),
        ("diff_csv", "polars", peer(POLARS_DIFF, a=old_csv, b=new_csv, src="csv")),
        ("diff_ingested", "rollaudit", [str(BIN), "diff", str(old_pq), str(new_pq), "-o", str(work / "diff_pq")]),
        ("diff_ingested", "duckdb", peer(DUCKDB_DIFF, a=old_pq, b=new_pq, src="parquet")),
        ("diff_ingested", "polars", peer(POLARS_DIFF, a=old_pq, b=new_pq, src="parquet")),
    ]
    only = set(args.tasks.split(",")) if args.tasks else None
    tools = set(args.tools.split(",")) if args.tools else None
    rows = []
    for task, tool, cmd in tasks:
        if only and task not in only:
            continue
        if tools and tool != "rollaudit" and tool not in tools:
            continue
        secs, mem = measure(cmd, args.repeat)
        rows.append((task, tool, secs, mem))
        print(f"  {task:<14} {tool:<10} {secs:8.2f} s  {mem:7.0f} MiB", flush=True)

    base = {task: secs for task, tool, secs, _ in rows if tool == "rollaudit"}
    print(f"machine: {os.cpu_count()} cores, {mem_gib():.0f} GiB; {old_csv.name}: {size_mb:.0f} MB, {args.voters} voters")
    print(f"{'task':<14} {'tool':<10} {'median s':>9} {'MB/s':>8} {'peak MiB':>9} {'time / rollaudit':>17}")
    with open(args.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["task", "tool", "voters", "median_seconds", "mb_per_s", "peak_mib", "ratio_to_rollaudit"])
        for task, tool, secs, mem in rows:
            ratio = secs / base[task]
            print(f"{task:<14} {tool:<10} {secs:>9.2f} {size_mb / secs:>8.0f} {mem:>9.0f} {ratio:>17.2f}")
            w.writerow([task, tool, args.voters, f"{secs:.3f}", f"{size_mb / secs:.1f}", f"{mem:.0f}", f"{ratio:.2f}"])


if __name__ == "__main__":
    main()
