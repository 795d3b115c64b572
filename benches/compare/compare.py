#!/usr/bin/env python3
"""Side-by-side timings: rollaudit against DuckDB and Polars on the same files, in one run.

Usage:
    python3 benches/compare/compare.py [--voters 1000000] [--repeat 3] [--out results.csv]
                                       [--tasks dedupe_fuzzy,dedupe_exact]

It builds rollaudit in release mode, generates a register with `rollaudit generate` (cached
under benches/compare/data/), creates a virtual environment with the peers
(benches/compare/.venv: duckdb, polars, splink), then times each tool doing the same work on the same
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
  diff_stream    rollaudit only: `diff --stream` of the same two Parquet files (a window of
                 10^6 rows a side at a time, for registers larger than memory; same output).
                 Compare with the peers' diff_ingested rows.
  dedupe_fuzzy   probabilistic deduplication of the first snapshot CSV, end to end (load,
                 blocking, training, prediction, clustering, clusters written to CSV), scored
                 by pairwise precision, recall and F1 against truth.json's duplicate pairs of
                 that snapshot (`rollaudit eval-dedupe`). rollaudit: `dedupe`. Splink 4 with
                 the DuckDB backend: comparisons on given, middle and family name
                 (Jaro-Winkler levels 0.92 / 0.80, as ours), birth date, sex, postcode and
                 national id (address line, phone and email made it merge households; see
                 SPLINK_DEDUPE); blocking rules close to ours (Splink has no sound
                 keys in DuckDB SQL, so exact names stand in for them); the prior from an
                 exact name + birth-date rule, u by random sampling (10^6 pairs, its default), m by EM on
                 two blocking rules (national id; name + birth date), predict, cluster at
                 0.8 (our default threshold).
  audit          the full `rollaudit audit` of the two snapshot CSVs (load, diff, record rules,
                 duplicates, change anomalies, JSON, HTML and flagged-record reports), against
                 the peers only loading the same two CSVs (DuckDB: two CREATE TABLE AS
                 read_csv; Polars: two read_csv). Issue #8's target: within 3x DuckDB's load.
  dedupe_exact   exact-duplicate groups on normalised given name + family name + birth date.
                 DuckDB and Polars: one GROUP BY on the normalised keys, groups written to
                 CSV. rollaudit: `dedupe --exact-only` (load, the name + birth-date groups and
                 the national-id groups joined, exact.csv and exact.json written: a little
                 more work than the peers).
  dedupe_exact_pq the same from the ingested Parquet file of that snapshot. rollaudit reads only
                 the four fields the pass compares; DuckDB through a view on read_parquet and
                 Polars through scan_parquet read only the columns they need.
"""
import argparse
import csv
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from peers import ensure_venv, sh

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

DUCKDB_LOAD_BOTH = """
import duckdb
Q = chr(34)
c = duckdb.connect()
for name, path in (("a", '{a}'), ("b", '{b}')):
    c.execute("CREATE TABLE " + name + " AS SELECT * FROM read_csv('" + path + "', header=true, quote='" + Q + "', escape='" + Q + "')")
print(c.execute("SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b)").fetchone()[0])
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

POLARS_LOAD_BOTH = """
import polars as pl
print(sum(pl.read_csv(p, infer_schema_length=10000).height for p in ('{a}', '{b}')))
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


# Splink 4 (DuckDB backend) on the same snapshot, settings as close to rollaudit's as its
# comparison library allows. Timed end to end, like `rollaudit dedupe`.
SPLINK_DEDUPE = """
import duckdb
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
Q = chr(34)
con = duckdb.connect()
con.execute("CREATE TABLE r AS SELECT voter_id, given_name, middle_name, family_name, birth_date, "
            "CAST(birth_year AS VARCHAR) AS birth_year, sex, address_line, postcode, phone, email, "
            "national_id FROM read_csv('{a}', header=true, quote='" + Q + "', escape='" + Q + "', all_varchar=true)")
db_api = DuckDBAPI(connection=con)
settings = SettingsCreator(
    link_type="dedupe_only",
    unique_id_column_name="voter_id",
    comparisons=[
        cl.JaroWinklerAtThresholds("given_name", [0.92, 0.80]),
        cl.JaroWinklerAtThresholds("family_name", [0.92, 0.80]),
        cl.JaroWinklerAtThresholds("middle_name", [0.92]),
        # Exact, one edit (typo or transposition), within a year, else: Splink's default
        # thresholds (a month, a year, ten years) put a parent and child in one level.
        cl.DateOfBirthComparison("birth_date", input_is_string=True,
                                 datetime_metrics=["year"], datetime_thresholds=[1]),
        cl.ExactMatch("sex"),
        # No address line, phone or email comparison: with two classes and independent
        # fields, Splink matched household members on them (same surname, address and
        # phone outweigh a different given name and birth date). F1 of the variants tried on
        # 100,000 voters: all fields 0.05; without phone and email 0.79; without address
        # line, phone and email 0.87 (this one). The blocking rules still use them.
        cl.ExactMatch("postcode"),
        cl.ExactMatch("national_id"),
    ],
    blocking_rules_to_generate_predictions=[
        block_on("national_id"),
        block_on("substr(given_name, 1, 3)", "birth_date"),
        block_on("family_name", "birth_date"),
        block_on("given_name", "family_name", "birth_year"),
        block_on("address_line", "family_name"),
        block_on("birth_date", "postcode"),
        block_on("phone"),
        block_on("email"),
    ],
)
# As in rollaudit, m of the birth date and the national id is fixed at documented error rates
# (rollaudit's fellegi_sunter::m_start); EM learns the rest.
settings = settings.get_settings("duckdb").as_dict()
fixed_m = {{"birth_date": [0.88, 0.06, 0.04, 0.02], "national_id": [0.97, 0.03]}}
for comparison in settings["comparisons"]:
    levels = [l for l in comparison["comparison_levels"] if not l.get("is_null_level")]
    for level, m in zip(levels, fixed_m.get(comparison["output_column_name"], [])):
        level["m_probability"] = m
        level["fix_m_probability"] = True
linker = Linker("r", settings, db_api)
linker.training.estimate_probability_two_random_records_match(
    [block_on("given_name", "family_name", "birth_date")], recall=0.7)
linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=7)
# m by EM on two rules whose pairs are mostly one person, each training the fields it does
# not block on (trained on name or birth-date blocks with m free, EM's match class became
# "one household": m = 0.72 for a different birth date, and precision fell to 0.06).
linker.training.estimate_parameters_using_expectation_maximisation(block_on("national_id"))
linker.training.estimate_parameters_using_expectation_maximisation(
    block_on("given_name", "family_name", "birth_date"))
pred = linker.inference.predict(threshold_match_probability=0.5)
clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, threshold_match_probability=0.8)
con.register("clusters_df", clusters.as_duckdbpyrelation())
con.execute("COPY (SELECT cluster_id, voter_id FROM clusters_df) TO '{out}' (HEADER, DELIMITER ',')")
"""

# Normalised name key in SQL / Polars: letters only, upper case (rollaudit also folds
# diacritics and reads OCR digits; the generated names are ASCII).
# The exact group-by, after one of two reads: the CSV export (all text, as our loader sees it)
# or the ingested Parquet file (a view, so that DuckDB reads only the columns it needs).
DUCKDB_READ_CSV = "c.execute(\"CREATE TABLE r AS SELECT * FROM read_csv('{a}', header=true, quote='\" + Q + \"', escape='\" + Q + \"', all_varchar=true)\")"
DUCKDB_READ_PARQUET = "c.execute(\"CREATE VIEW r AS SELECT * FROM read_parquet('{a}')\")"
DUCKDB_EXACT = """
import duckdb
Q = chr(34)
c = duckdb.connect()
{read}
key = lambda f: "upper(regexp_replace(" + f + ", '[^A-Za-z]', '', 'g'))"
c.execute(
    "COPY (SELECT min(voter_id) OVER w AS cluster_id, voter_id FROM ("
    "  SELECT voter_id, " + key("given_name") + " AS g, " + key("family_name") + " AS f, birth_date AS d FROM r"
    "  WHERE given_name IS NOT NULL AND family_name IS NOT NULL AND birth_date IS NOT NULL) "
    "WINDOW w AS (PARTITION BY g, f, d) QUALIFY count(*) OVER w > 1) TO '{out}' (HEADER, DELIMITER ',')"
)
"""

# Polars: eager from the CSV (all text); lazy from the Parquet file, so that it reads only the
# columns it needs.
POLARS_READ_CSV = "pl.read_csv('{a}', infer_schema_length=0).lazy()"
POLARS_READ_PARQUET = "pl.scan_parquet('{a}')"
POLARS_EXACT = """
import polars as pl
r = {read}
key = lambda f: pl.col(f).str.replace_all("[^A-Za-z]", "").str.to_uppercase()
k = r.select("voter_id", key("given_name").alias("g"), key("family_name").alias("f"), pl.col("birth_date").alias("d")).drop_nulls()
g = k.with_columns(pl.col("voter_id").min().over(["g", "f", "d"]).alias("cluster_id"),
                   pl.len().over(["g", "f", "d"]).alias("n")).filter(pl.col("n") > 1)
g.select("cluster_id", "voter_id").collect().write_csv('{out}')
"""


def truth_labels(gen_dir, snapshot_file, out):
    """Writes truth.json's duplicate pairs first present in `snapshot_file` as labels
    (voter_id, cluster_id = the original's id); returns the path."""
    import json
    truth = json.loads((gen_dir / "truth.json").read_text())
    date = snapshot_file.stem.split("register-")[-1]
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["voter_id", "cluster_id"])
        for d in truth["duplicates"]:
            if d["snapshot"] == date:
                w.writerow([d["original_voter_id"], d["original_voter_id"]])
                w.writerow([d["duplicate_voter_id"], d["original_voter_id"]])
    return out


def pairwise_scores(labels, predicted):
    """(precision, recall, F1) from `rollaudit eval-dedupe`."""
    out = subprocess.run([str(BIN), "eval-dedupe", str(labels), str(predicted)],
                         check=True, capture_output=True, text=True).stdout.split()
    return float(out[1]), float(out[3]), float(out[5])


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
    ap.add_argument("--out", default="", help="results CSV (default results-v<voters>.csv here)")
    ap.add_argument("--tasks", default="", help="comma-separated subset of the tasks")
    ap.add_argument("--tools", default="", help="comma-separated subset of the tools (rollaudit always runs)")
    args = ap.parse_args()
    args.out = args.out or str(HERE / f"results-v{args.voters}.csv")

    sh(["cargo", "build", "--release", "--quiet"], cwd=ROOT, env={**os.environ, "CARGO_TARGET_DIR": str(TARGET)})
    py = ensure_venv(VENV, 4)
    files = ensure_data(args.voters)
    size_mb = files[0].stat().st_size / 1e6

    old_csv, new_csv = files[0], files[1]
    work = DATA / f"v{args.voters}"
    old_pq, new_pq = work / "old.parquet", work / "new.parquet"
    only = set(args.tasks.split(",")) if args.tasks else None
    if not only or only & {"load", "diff_csv", "diff_ingested", "diff_stream", "dedupe_exact_pq"}:
        sh([str(BIN), "ingest", str(old_csv), "-o", str(old_pq)], stdout=subprocess.DEVNULL)
        sh([str(BIN), "ingest", str(new_csv), "-o", str(new_pq)], stdout=subprocess.DEVNULL)
    labels = truth_labels(work, old_csv, work / "truth_labels.csv")

    def peer(snippet, **kw):
        kw.setdefault("out", work / "peer_changes.parquet")
        return [str(py), "-c", snippet.format(fields=FIELDS, **kw)]

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
        ("audit", "rollaudit", [str(BIN), "audit", str(old_csv), str(new_csv),
                                "--calendar", str(work / "election.toml"), "-o", str(work / "audit")]),
        ("audit", "duckdb", peer(DUCKDB_LOAD_BOTH, a=old_csv, b=new_csv)),
        ("audit", "polars", peer(POLARS_LOAD_BOTH, a=old_csv, b=new_csv)),
        ("diff_stream", "rollaudit", [str(BIN), "diff", str(old_pq), str(new_pq), "--stream", "-o", str(work / "diff_stream")]),
        ("dedupe_fuzzy", "rollaudit", [str(BIN), "dedupe", str(old_csv), "-o", str(work / "dedupe")]),
        ("dedupe_fuzzy", "splink", peer(SPLINK_DEDUPE, a=old_csv, out=work / "splink_clusters.csv")),
        ("dedupe_exact", "rollaudit", [str(BIN), "dedupe", "--exact-only", str(old_csv), "-o", str(work / "exact")]),
        ("dedupe_exact", "duckdb", peer(DUCKDB_EXACT.replace("{read}", DUCKDB_READ_CSV), a=old_csv, out=work / "duckdb_exact.csv")),
        ("dedupe_exact", "polars", peer(POLARS_EXACT.replace("{read}", POLARS_READ_CSV), a=old_csv, out=work / "polars_exact.csv")),
        ("dedupe_exact_pq", "rollaudit", [str(BIN), "dedupe", "--exact-only", str(old_pq), "-o", str(work / "exact_pq")]),
        ("dedupe_exact_pq", "duckdb", peer(DUCKDB_EXACT.replace("{read}", DUCKDB_READ_PARQUET), a=old_pq, out=work / "duckdb_exact_pq.csv")),
        ("dedupe_exact_pq", "polars", peer(POLARS_EXACT.replace("{read}", POLARS_READ_PARQUET), a=old_pq, out=work / "polars_exact_pq.csv")),
    ]
    only = set(args.tasks.split(",")) if args.tasks else None
    tools = set(args.tools.split(",")) if args.tools else None
    # Where each tool's clusters land, to be scored against the truth after timing.
    clusters = {
        ("dedupe_fuzzy", "rollaudit"): work / "dedupe" / "clusters.csv",
        ("dedupe_fuzzy", "splink"): work / "splink_clusters.csv",
        ("dedupe_exact", "rollaudit"): work / "exact" / "exact.csv",
        ("dedupe_exact", "duckdb"): work / "duckdb_exact.csv",
        ("dedupe_exact", "polars"): work / "polars_exact.csv",
        ("dedupe_exact_pq", "rollaudit"): work / "exact_pq" / "exact.csv",
        ("dedupe_exact_pq", "duckdb"): work / "duckdb_exact_pq.csv",
        ("dedupe_exact_pq", "polars"): work / "polars_exact_pq.csv",
    }
    rows = []
    for task, tool, cmd in tasks:
        if only and task not in only:
            continue
        if tools and tool != "rollaudit" and tool not in tools:
            continue
        secs, mem = measure(cmd, args.repeat)
        scores = pairwise_scores(labels, clusters[(task, tool)]) if (task, tool) in clusters else None
        rows.append((task, tool, secs, mem, scores))
        f1 = f"  P {scores[0]:.4f} R {scores[1]:.4f} F1 {scores[2]:.4f}" if scores else ""
        print(f"  {task:<14} {tool:<10} {secs:8.2f} s  {mem:7.0f} MiB{f1}", flush=True)

    base = {task: secs for task, tool, secs, _, _ in rows if tool == "rollaudit"}
    print(f"machine: {os.cpu_count()} cores, {mem_gib():.0f} GiB; {old_csv.name}: {size_mb:.0f} MB, {args.voters} voters")
    print(f"{'task':<14} {'tool':<10} {'median s':>9} {'MB/s':>8} {'peak MiB':>9} {'time / rollaudit':>17}"
          f" {'precision':>9} {'recall':>7} {'F1':>7}")
    with open(args.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["task", "tool", "voters", "median_seconds", "mb_per_s", "peak_mib", "ratio_to_rollaudit",
                    "precision", "recall", "f1"])
        for task, tool, secs, mem, scores in rows:
            ratio = secs / base[task]
            p, r, f1 = (f"{x:.4f}" for x in scores) if scores else ("", "", "")
            print(f"{task:<14} {tool:<10} {secs:>9.2f} {size_mb / secs:>8.0f} {mem:>9.0f} {ratio:>17.2f}"
                  f" {p:>9} {r:>7} {f1:>7}")
            w.writerow([task, tool, args.voters, f"{secs:.3f}", f"{size_mb / secs:.1f}", f"{mem:.0f}", f"{ratio:.2f}",
                        p, r, f1])
    growth()


def growth():
    """rollaudit's time at the largest size over its time at the smallest, per task, from the
    results-v*.csv files of earlier runs (issue #8: 10M may cost at most 11x 1M)."""
    runs = {}
    for path in HERE.glob("results-v*.csv"):
        with open(path) as f:
            for row in csv.DictReader(f):
                if row["tool"] == "rollaudit":
                    runs.setdefault(row["task"], {})[int(row["voters"])] = float(row["median_seconds"])
    lines = []
    for task, by_size in sorted(runs.items()):
        if len(by_size) > 1:
            small, large = min(by_size), max(by_size)
            lines.append(f"  {task:<14} {large // small:>4}x the voters: {by_size[large] / by_size[small]:6.2f}x the time"
                         f" ({by_size[small]:.2f} s -> {by_size[large]:.2f} s)")
    if lines:
        print("growth of rollaudit's time (from results-v*.csv):")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
