//! Change anomalies against the generator's ground truth: every planted change anomaly found
//! at severity medium or above with its voter ids; benign mass events kept at info or low; a
//! clean series nearly silent.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use rollaudit::anomalies::{detect, detect_prepared, prepare, AnomalyConfig, Interval, Prepared};
use rollaudit::diff::{diff, keep_named, DiffConfig, DiffResult};
use rollaudit::findings::{Finding, Severity};
use rollaudit::generate::AnomalySelection;
use rollaudit::incidents::Incident;
use rollaudit::model::Field;
use rollaudit::report::diff::render_log;
use rollaudit::snapshot::Snapshot;

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
    /// The findings grouped, as the audit groups the detectors' findings.
    incidents: Vec<Incident>,
    /// The flagged areas' and accounts' rates at every snapshot (the page's charts).
    series: Vec<rollaudit::anomalies::Series>,
    /// Records per precinct in each snapshot, in date order.
    precinct_sizes: Vec<BTreeMap<String, usize>>,
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
    let dated: Vec<(i32, &rollaudit::snapshot::Snapshot)> =
        dates.iter().copied().zip(snaps.iter()).collect();
    let incidents = rollaudit::incidents::group(&result.findings, &dated);
    let precinct_sizes = snaps
        .iter()
        .map(|snap| {
            let column = snap.column(Field::Precinct).expect("generated precincts");
            let mut sizes: BTreeMap<String, usize> = BTreeMap::new();
            for row in 0..snap.rows() {
                *sizes
                    .entry(column.str(row).unwrap_or_default().to_string())
                    .or_default() += 1;
            }
            sizes
        })
        .collect();
    Series {
        truth: series.truth,
        findings: result.findings,
        incidents,
        series: result.series,
        precinct_sizes,
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
        let ids: HashSet<&str> = event_voters(event);
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

/// The small targeted purge of issue #17, missed on an independent series: 100 voters of one
/// precinct removed as "moved" over a week and a half by two clerks, inside the quiet period
/// (`targeted-purge=100`). It must be the primary subject of exactly one incident, at medium
/// or above, holding at least [`MIN_COVERAGE`] of its voters.
#[test]
fn a_quiet_purge_of_one_precinct_is_one_incident_at_medium_or_above() {
    let dir = tempfile::tempdir().unwrap();
    let anomalies: AnomalySelection = "targeted-purge=100".parse().unwrap();
    let s = run_series(dir.path(), 20_000, anomalies, 13);
    let event = &s.truth["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "targeted-purge")
        .expect("the purge is planted");
    assert_eq!(event["details"]["in_quiet_period"], true, "{event}");
    assert_eq!(
        event["details"]["operators"].as_array().map(Vec::len),
        Some(2)
    );
    let ids: HashSet<&str> = event_voters(event);
    assert_eq!(ids.len(), 100);
    let subjects: Vec<&Incident> = s
        .incidents
        .iter()
        .filter(|i| {
            let primary = &s.findings[i.findings[0]];
            let inside = primary
                .voter_ids
                .iter()
                .filter(|v| ids.contains(v.as_str()))
                .count();
            2 * inside >= primary.voter_ids.len()
        })
        .collect();
    assert_eq!(subjects.len(), 1, "{subjects:#?}");
    let incident = subjects[0];
    assert!(incident.severity >= Severity::Medium, "{incident:#?}");
    let held = incident
        .voter_ids
        .iter()
        .filter(|v| ids.contains(v.as_str()))
        .count();
    assert!(held as f64 >= MIN_COVERAGE * 100.0, "{held} of 100 voters");
    // The page's chart of the purged precinct: its removal rate at every snapshot after the
    // first, per 1,000 of its records before the interval. The purge's interval (the last)
    // holds at least the 100 planted removals and stands far above the median precinct; in
    // the earlier intervals (list maintenance in the first) the precinct was ordinary.
    let precinct = event["scope_value"].as_str().unwrap();
    let chart = s
        .series
        .iter()
        .find(|c| c.subject == precinct && c.kind == Some("removal"))
        .expect("a chart of the purged precinct's removals");
    assert_eq!(chart.points.len(), 3);
    let before = s.precinct_sizes[2][precinct] as f64;
    let last = chart.points[2];
    let own = last.own.expect("the precinct has records");
    assert!(
        own >= 100.0 * 1000.0 / before,
        "{own} per 1,000 of {before}"
    );
    assert!(own >= 3.0 * last.peers.expect("peers"), "{last:?}");
    for earlier in &chart.points[..2] {
        let (own, peers) = (earlier.own.unwrap_or(0.0), earlier.peers.expect("peers"));
        assert!(own <= 2.0 * peers, "{:?}", chart.points);
    }
}

/// The quiet period forbids systematic removals of registered voters: 20 pending
/// applications closed as unverified inside it are not removals (issue #17: on a clean 1M
/// series they were the only high finding), while 20 active voters removed for inactivity
/// on the same days are.
#[test]
fn closing_pending_applications_is_not_a_quiet_period_removal() {
    let dir = tempfile::tempdir().unwrap();
    let calendar_path = dir.path().join("election.toml");
    std::fs::write(
        &calendar_path,
        "name = \"test\"\nelection_day = \"2026-10-22\"\nquiet_period_days = 90\n",
    )
    .unwrap();
    let calendar = calendar_of(&calendar_path);
    let snapshot = |rows: &dyn Fn(usize) -> (&'static str, &'static str, &'static str)| {
        let mut text =
            String::from("voter_id,given_name,family_name,status,status_reason,changed_at\n");
        for k in 0..40 {
            let (status, reason, at) = rows(k);
            text.push_str(&format!("V{k:04},ANA,LEE{k},{status},{reason},{at}\n"));
        }
        snapshot_of(text)
    };
    // Rows 0-19 pending, 20-39 active, all last edited in June.
    let before = |k: usize| match k < 20 {
        true => ("pending", "", "2026-06-01T10:00:00"),
        false => ("active", "", "2026-06-01T10:00:00"),
    };
    let after = |k: usize| match k < 20 {
        true => ("removed", "unverified", "2026-09-01T10:00:00"),
        false => ("removed", "inactivity", "2026-09-01T10:00:00"),
    };
    let (old, new) = (snapshot(&before), snapshot(&after));
    let d = diff(&old, &new, &DiffConfig::default());
    let day = |s: &str| rollaudit::dates::parse_iso_date(s).unwrap();
    let intervals = [Interval {
        from: day("2026-07-04"),
        to: day("2026-10-02"),
        old: &old,
        new: &new,
        diff: &d,
    }];
    let result = detect(&intervals, Some(&calendar), &AnomalyConfig::default());
    let quiet: Vec<&Finding> = result
        .findings
        .iter()
        .filter(|f| f.rule == "A-CAL-QUIET")
        .collect();
    assert_eq!(quiet.len(), 1, "{quiet:#?}");
    let expected: Vec<String> = (20..40).map(|k| format!("V{k:04}")).collect();
    assert_eq!(quiet[0].voter_ids, expected);
}

/// An account's night against its own nights and its peers' (issue #17): among five clerks,
/// one with 300 day edits and 25 in one night is flagged (the night edits are 8% of its work, under the half an earlier rule
/// asked for, which let a 1M series' planted night burst pass), while a portal account that
/// edits three records every night of the interval is not (every one of its edits is at
/// night, which the earlier rule called high).
#[test]
fn a_night_is_judged_against_the_accounts_own_nights() {
    let header = "voter_id,given_name,family_name,party,changed_at,changed_by\n";
    let mut old = String::from(header);
    let mut new = String::from(header);
    let mut k = 0;
    let mut edit = |when: String, who: &str| {
        old.push_str(&format!("V{k:05},ANA,LEE,DEM,2026-01-02T10:00:00,{who}\n"));
        new.push_str(&format!("V{k:05},ANA,LEE,REP,{when},{who}\n"));
        k += 1;
    };
    for d in 0..300 {
        // Weekday office hours, spread over the interval.
        let day = rollaudit::dates::IsoDate(day_of("2026-01-12") + (d % 60) / 5 * 7 + (d % 5));
        edit(format!("{day}T{:02}:15:00", 9 + d % 7), "CLERK");
    }
    for m in 0..25 {
        edit(format!("2026-02-04T02:{m:02}:00"), "CLERK");
    }
    // Its peers: four clerks of day work only.
    for d in 0..200 {
        let day = rollaudit::dates::IsoDate(day_of("2026-01-12") + (d % 50) as i32);
        edit(format!("{day}T11:00:00"), ["C2", "C3", "C4", "C5"][d % 4]);
    }
    for night in 0..88 {
        let day = rollaudit::dates::IsoDate(day_of("2026-01-06") + night);
        for m in 0..3 {
            edit(format!("{day}T23:{:02}:00", 10 * m), "PORTAL");
        }
    }
    let (old, new) = (snapshot_of(old), snapshot_of(new));
    let d = diff(&old, &new, &DiffConfig::default());
    let intervals = [Interval {
        from: day_of("2026-01-05"),
        to: day_of("2026-04-05"),
        old: &old,
        new: &new,
        diff: &d,
    }];
    let result = detect(&intervals, None, &AnomalyConfig::default());
    let night: Vec<(&str, usize)> = result
        .findings
        .iter()
        .filter(|f| f.rule == "A-OPERATOR-NIGHT")
        .map(|f| (f.scope_value.as_str(), f.voter_ids.len()))
        .collect();
    assert_eq!(night, [("CLERK", 25)]);
}

/// A canonical CSV text, loaded.
fn snapshot_of(text: String) -> rollaudit::snapshot::Snapshot {
    use rollaudit::load::{load_bytes, NoProgress};
    use rollaudit::profile::Profile;
    load_bytes(
        text.into_bytes(),
        Path::new("r.csv"),
        &Profile::canonical(),
        &NoProgress,
    )
    .expect("loads")
    .snapshot
}

/// The voter ids of a planted event of `truth.json`.
fn event_voters(event: &serde_json::Value) -> HashSet<&str> {
    event["voter_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

fn day_of(s: &str) -> i32 {
    rollaudit::dates::parse_iso_date(s).unwrap()
}

/// `n` voters `V000`.. of one district, for the hand-built incident tests.
fn one_district(n: usize) -> rollaudit::snapshot::Snapshot {
    let mut text = String::from("voter_id,given_name,family_name,district\n");
    for v in 0..n {
        text.push_str(&format!("V{v:03},ANA,LOPEZ,D1\n"));
    }
    snapshot_of(text)
}

fn voters(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|v| format!("V{v:03}")).collect()
}

/// A finding of `rule` on `voters` at `date`, observed as many times as it has voters.
fn hand_finding(
    date: i32,
    expected: Option<f64>,
) -> impl Fn(&'static str, Severity, rollaudit::findings::Scope, &str, Vec<String>) -> Finding {
    move |rule, severity, scope, value, ids| Finding {
        rule,
        severity,
        scope,
        scope_value: value.to_string(),
        evidence: rollaudit::findings::Evidence {
            observed: ids.len() as f64,
            expected,
            ..Default::default()
        },
        voter_ids: ids,
        snapshot_date: Some(date),
    }
}

/// A record finding joins an event only when the event is at least as severe (issue #17: at
/// 10,000,000 voters a busy clerk's medium volume and burst findings held 244 records with
/// repeated national ids, and the incident read as a high "R-ID-REPEATED" event). The
/// clerk's incident stays medium with its own finding first; the repeated id rolls up on
/// its own, high. A low record finding inside the clerk's edits joins the clerk's incident.
#[test]
fn record_findings_do_not_raise_the_event_they_touch() {
    use rollaudit::findings::Scope;
    let snap = one_district(200);
    let date = day_of("2026-04-05");
    let finding = hand_finding(date, None);
    let findings = vec![
        finding(
            "A-OPERATOR-VOLUME",
            Severity::Medium,
            Scope::Operator,
            "OP1",
            voters(0..150),
        ),
        finding(
            "A-OPERATOR-BURST",
            Severity::Medium,
            Scope::Operator,
            "OP1",
            voters(0..120),
        ),
        finding(
            "R-ID-REPEATED",
            Severity::High,
            Scope::Record,
            "V010",
            voters(10..12),
        ),
        finding(
            "R-NAME-IMPLAUSIBLE",
            Severity::Low,
            Scope::Record,
            "V020",
            voters(20..21),
        ),
    ];
    let incidents = rollaudit::incidents::group(&findings, &[(date, &snap)]);
    let clerk = incidents
        .iter()
        .find(|i| i.findings.contains(&0))
        .expect("the clerk's incident");
    assert_eq!(clerk.severity, Severity::Medium, "{clerk:#?}");
    assert_eq!(findings[clerk.findings[0]].rule, "A-OPERATOR-VOLUME");
    assert!(
        clerk.findings.contains(&1) && clerk.findings.contains(&3),
        "{clerk:#?}"
    );
    assert!(!clerk.findings.contains(&2), "{clerk:#?}");
    let repeated = incidents
        .iter()
        .find(|i| i.findings.contains(&2))
        .expect("the repeated id's incident");
    assert_eq!(repeated.findings, vec![2]);
    assert_eq!(repeated.severity, Severity::High);
}

/// A register-wide finding joins only the event it shares the most voters with (issue #17:
/// at 10,000,000 voters the quiet period's removals held both a routine list maintenance and
/// a party's purge in one district, glued them into one routine incident, and the purge was
/// held at low). Here 300 routine removals and a 30-voter purge seen by two rules, all inside
/// one quiet-period finding: the purge is its own incident at high, and the quiet-period
/// finding stays with the routine event it mostly is.
#[test]
fn a_register_wide_finding_does_not_glue_a_purge_to_a_routine_event() {
    use rollaudit::findings::Scope;
    let snap = one_district(400);
    let date = day_of("2026-04-05");
    let finding = hand_finding(date, Some(1.0));
    let findings = vec![
        finding(
            "A-ROUTINE-UNIFORM",
            Severity::Info,
            Scope::Snapshot,
            "2026-04-05",
            voters(0..300),
        ),
        finding(
            "A-CAL-QUIET",
            Severity::High,
            Scope::Snapshot,
            "2026-04-05",
            voters(0..330),
        ),
        finding(
            "A-SKEW",
            Severity::High,
            Scope::District,
            "D1",
            voters(300..330),
        ),
        finding(
            "A-OPERATOR-VOLUME",
            Severity::Medium,
            Scope::Operator,
            "OP1",
            voters(300..330),
        ),
    ];
    let incidents = rollaudit::incidents::group(&findings, &[(date, &snap)]);
    let of = |k: usize| {
        incidents
            .iter()
            .find(|i| i.findings.contains(&k))
            .expect("every finding is in an incident")
    };
    let purge = of(2);
    assert_eq!(purge.severity, Severity::High, "{incidents:#?}");
    assert!(
        purge.findings.contains(&3) && !purge.findings.contains(&0),
        "{purge:#?}"
    );
    assert_eq!(
        of(1).id,
        of(0).id,
        "the quiet-period finding stays with the routine event"
    );
    assert!(of(0).severity <= Severity::Low);
}

/// The intervals of a series of snapshots and its diffs.
fn intervals_of<'a>(
    dates: &[i32],
    snaps: &[&'a Snapshot],
    diffs: &'a [DiffResult],
) -> Vec<Interval<'a>> {
    (0..diffs.len())
        .map(|t| Interval {
            from: dates[t],
            to: dates[t + 1],
            old: snaps[t],
            new: snaps[t + 1],
            diff: &diffs[t],
        })
        .collect()
}

/// The change log of one diff with its values, as `changes.parquet` holds it.
type LogRows = Vec<(String, &'static str, Option<String>, Option<String>)>;

fn log_rows(d: &DiffResult, old: &Snapshot, new: &Snapshot) -> LogRows {
    let log = render_log(&d.log, old, new);
    let owned = |v: Option<std::borrow::Cow<str>>| v.map(|v| v.into_owned());
    (0..log.voter_id.len())
        .map(|i| {
            (
                log.voter_id[i].to_string(),
                log.field[i],
                owned(log.old_value[i].clone()),
                owned(log.new_value[i].clone()),
            )
        })
        .collect()
}

/// An audit keeps of each earlier snapshot only the records its diffs name, once the
/// detectors have taken what they need of the whole (`prepare`): the findings, their
/// incidents, the charts' series and the change log must be those of the whole snapshots.
#[test]
fn the_records_the_diffs_name_give_the_findings_of_the_whole_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let series = generated_series(dir.path(), 8_000, 4, 5, AnomalySelection::all_defaults());
    let (snaps, dates) = (&series.snapshots, &series.dates);
    let config = AnomalyConfig::default();
    let calendar = calendar_of(&dir.path().join("election.toml"));
    let whole_diffs: Vec<DiffResult> = snaps
        .windows(2)
        .map(|w| diff(&w[0], &w[1], &DiffConfig::default()))
        .collect();
    let whole: Vec<&Snapshot> = snaps.iter().collect();
    let intervals = intervals_of(dates, &whole, &whole_diffs);
    let expected = detect(&intervals, Some(&calendar), &config);
    let prepared: Vec<Prepared> = intervals.iter().map(|iv| prepare(iv, &config)).collect();

    // Every snapshot but the latest shrinks, as the audit shrinks them.
    let mut diffs = whole_diffs.clone();
    let mut kept: Vec<Snapshot> = Vec::new();
    for (t, snapshot) in snaps[..diffs.len()].iter().enumerate() {
        let (before, after) = diffs.split_at_mut(t);
        kept.push(keep_named(snapshot, before.last_mut(), &mut after[0]));
    }
    assert!(kept.iter().zip(snaps).all(|(k, s)| k.rows() < s.rows() / 2));
    let mut shrunk: Vec<&Snapshot> = kept.iter().collect();
    shrunk.push(snaps.last().unwrap());
    let intervals = intervals_of(dates, &shrunk, &diffs);
    let found = detect_prepared(&intervals, &prepared, Some(&calendar), &config);
    assert!(expected.findings.len() > 20, "{}", expected.findings.len());
    assert_eq!(found.findings, expected.findings);
    assert_eq!(found.series, expected.series);
    assert_eq!(found.runs, expected.runs);

    let group = |findings, snaps: &[&Snapshot]| {
        let series: Vec<(i32, &Snapshot)> = dates.iter().copied().zip(snaps.to_vec()).collect();
        rollaudit::incidents::group(findings, &series)
    };
    assert_eq!(
        group(&found.findings, &shrunk),
        group(&expected.findings, &whole)
    );
    for t in 0..diffs.len() {
        assert!(!diffs[t].log.is_empty());
        assert_eq!(
            log_rows(&diffs[t], shrunk[t], shrunk[t + 1]),
            log_rows(&whole_diffs[t], whole[t], whole[t + 1])
        );
    }
}

/// An incident names the accounts and the first and last edit stamped inside its interval:
/// from the day of the earlier snapshot through the day of the later one, both whole days,
/// and edits without a stamp. The stamps are hand-placed around both ends (a second before
/// the first day, its first second, the last day's last second, the next midnight).
#[test]
fn an_incident_names_the_edits_inside_its_interval() {
    use rollaudit::findings::Scope;
    let old = one_district(6);
    let stamps = [
        ("OP1", "2026-01-04T23:59:59"),
        ("OP1", "2026-01-05T00:00:00"),
        ("OP2", "2026-02-01T10:00:00"),
        ("OP2", "2026-04-05T23:59:59"),
        ("OP3", "2026-04-06T00:00:00"),
        ("OP2", ""),
    ];
    let mut text = String::from("voter_id,given_name,family_name,district,changed_by,changed_at\n");
    for (v, (by, at)) in stamps.iter().enumerate() {
        text.push_str(&format!("V{v:03},ANA,LOPEZ,D1,{by},{at}\n"));
    }
    let new = snapshot_of(text);
    let (from, to) = (day_of("2026-01-05"), day_of("2026-04-05"));
    let finding = hand_finding(to, None);
    let findings = vec![finding(
        "A-OPERATOR-VOLUME",
        Severity::Medium,
        Scope::Operator,
        "OP2",
        voters(0..6),
    )];
    let incidents = rollaudit::incidents::group(&findings, &[(from, &old), (to, &new)]);
    let [incident] = incidents.as_slice() else {
        panic!("one incident: {incidents:#?}");
    };
    let accounts = vec![("OP2".to_string(), 3), ("OP1".to_string(), 1)];
    assert_eq!(incident.accounts, accounts, "{incident:#?}");
    assert_eq!(incident.first_edit.as_deref(), Some("2026-01-05T00:00:00"));
    assert_eq!(incident.last_edit.as_deref(), Some("2026-04-05T23:59:59"));
}
