//! Change anomalies against the generator's ground truth: every planted change anomaly found
//! at severity medium or above with its voter ids; benign mass events kept at info or low; a
//! clean series nearly silent.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use rollaudit::anomalies::{detect, AnomalyConfig, Interval};
use rollaudit::diff::{diff, DiffConfig, DiffResult};
use rollaudit::findings::{Finding, Severity};
use rollaudit::generate::AnomalySelection;

use crate::util::{calendar_of, generated_series};

/// The planted kinds that show up as changes between snapshots (the record rules and the
/// deduplicator have their own tests for the others).
const CHANGE_KINDS: [&str; 10] = [
    "targeted-purge",
    "skewed-purge",
    "mass-party-switch",
    "address-redirect",
    "bulk-registration",
    "birth-date-edits",
    "post-freeze-edits",
    "night-burst",
    "mass-reactivation",
    "id-reuse",
];

/// Share of an event's voter ids that findings must cover for the event to count as found.
const MIN_COVERAGE: f64 = 0.9;

struct Series {
    truth: serde_json::Value,
    findings: Vec<Finding>,
    voters: usize,
}

fn run_series(dir: &Path, voters: usize, anomalies: AnomalySelection, seed: u64) -> Series {
    let series = generated_series(dir, voters, 4, seed, anomalies);
    let (snaps, dates) = (&series.snapshots, &series.dates);
    let diffs: Vec<DiffResult> = snaps
        .windows(2)
        .map(|w| diff(&w[0], &w[1], &DiffConfig::default()))
        .collect();
    let intervals: Vec<Interval> = (0..diffs.len())
        .map(|t| Interval {
            from: dates[t],
            to: dates[t + 1],
            old: &snaps[t],
            new: &snaps[t + 1],
            diff: &diffs[t],
        })
        .collect();
    let calendar = calendar_of(&dir.join("election.toml"));
    let result = detect(&intervals, Some(&calendar), &AnomalyConfig::default());
    Series {
        truth: series.truth,
        findings: result.findings,
        voters,
    }
}

fn date_of(f: &Finding) -> String {
    rollaudit::dates::IsoDate(f.snapshot_date.unwrap_or(0)).to_string()
}

#[test]
fn planted_change_anomalies_are_found_and_benign_events_are_not_alarms() {
    let dir = tempfile::tempdir().unwrap();
    let s = run_series(dir.path(), 20_000, AnomalySelection::all_defaults(), 11);
    let mut recall: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut misses = Vec::new();
    for event in s.truth["events"].as_array().unwrap() {
        let kind = event["kind"].as_str().unwrap();
        let to = event["snapshot_to"].as_str().unwrap_or_default();
        let ids: HashSet<&str> = event["voter_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        if event["benign"].as_bool().unwrap() {
            // Findings at medium or above must not be mostly about a benign event.
            for f in s
                .findings
                .iter()
                .filter(|f| f.severity >= Severity::Medium && date_of(f) == to)
            {
                let inside = f
                    .voter_ids
                    .iter()
                    .filter(|v| ids.contains(v.as_str()))
                    .count();
                assert!(
                    inside * 2 <= f.voter_ids.len(),
                    "benign {kind} raised {} {} {} ({inside} of {} ids)",
                    f.rule,
                    f.severity.name(),
                    f.scope_value,
                    f.voter_ids.len()
                );
            }
            continue;
        }
        if !CHANGE_KINDS.contains(&kind) {
            continue;
        }
        let covered: HashSet<&str> = s
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Medium && date_of(f) == to)
            .flat_map(|f| f.voter_ids.iter().map(String::as_str))
            .filter(|v| ids.contains(v))
            .collect();
        let found = covered.len() as f64 >= MIN_COVERAGE * ids.len() as f64;
        let e = recall.entry(kind.to_string()).or_default();
        e.1 += 1;
        if found {
            e.0 += 1;
        } else {
            misses.push(format!(
                "{kind} {to}: {} of {} ids",
                covered.len(),
                ids.len()
            ));
        }
    }
    for (kind, (found, total)) in &recall {
        println!("recall {kind:<20} {found}/{total}");
    }
    let high = s
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::High)
        .count();
    println!("findings: {} ({high} high or critical)", s.findings.len());
    assert!(misses.is_empty(), "missed: {misses:#?}");
    for kind in CHANGE_KINDS {
        assert!(
            recall.contains_key(kind),
            "{kind} was not planted in the series"
        );
    }
}

/// The bar: at most one finding of severity >= high per million voters on a clean
/// series. At 20,000 voters that is zero.
#[test]
fn a_clean_series_raises_no_high_findings() {
    let dir = tempfile::tempdir().unwrap();
    let s = run_series(dir.path(), 20_000, AnomalySelection::none(), 12);
    let high: Vec<String> = s
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::High)
        .map(|f| {
            format!(
                "{} {} {} {}",
                date_of(f),
                f.rule,
                f.scope_value,
                f.evidence.observed
            )
        })
        .collect();
    let medium = s
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Medium)
        .count();
    println!(
        "clean series of {} voters: {} high, {medium} medium",
        s.voters,
        high.len()
    );
    assert!(high.is_empty(), "{high:#?}");
}
