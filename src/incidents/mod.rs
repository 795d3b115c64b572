//! Incidents: the findings that describe one underlying event, grouped, so that a data team
//! reads one entry per event instead of one per detector and area.
//!
//! The detectors look at one event from several sides: a purge of one precinct is a field
//! transition in the precinct and again in its district, a removal rate far above the peer
//! precincts, and a burst of one clerk's edits. On an independent 213k-voter series with 13
//! planted events the report held 753 findings (issue #17). An incident joins:
//! - findings of one interval whose voters are mostly the same ([`SHARED_VOTERS`]): the sides
//!   of one event; a register-wide finding (all removals in the quiet period) joins only the
//!   one it shares the most voters with, so that it cannot glue two events together;
//! - record findings (a rule about single records, a duplicate cluster) to the event that
//!   holds all their voters and is at least as severe, else into one roll-up per rule and
//!   district (register-wide for duplicates, [`REGISTER_WIDE_RULES`]), with the count. They
//!   describe the event's voters; they do not corroborate it.
//!
//! An incident's severity and primary finding come from the event's own findings; record
//! findings attached to it do not raise it. It is only as severe as its corroboration
//! allows ([`Basis`]): `high` or above
//! needs two rules that saw it, or one overwhelming signal (a count far beyond its baseline,
//! or a rule that states a fact, such as a voter id reassigned to another person); one rule
//! alone is `medium` at most. An incident holding an explained routine event (redistricting,
//! list maintenance, re-keying) stays `low` or below, as the findings mostly about it do.
//!
//! Plain data; `report::incidents` words it.

mod named;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

pub(crate) use self::named::Named;
use self::named::{ByVoter, NO_ROW};
use crate::dates::{IsoTimestamp, MS_PER_DAY};
use crate::dedupe::cluster::DisjointSets;
use crate::findings::{Finding, Scope, Severity, DUPLICATE_RULE};
use crate::hashing::{Map, Set};
use crate::model::Field;
use crate::snapshot::{FieldColumn, Snapshot};

/// Two findings of one interval are one event when the voters they share are at least this
/// share of the smaller one's: a precinct's purge is most of its district's transition
/// finding and most of the clerk's burst, while two events in one district share few voters.
pub const SHARED_VOTERS: f64 = 0.5;

/// A statistical finding is overwhelming on its own when it counts at least this many times
/// what its baseline predicts ...
pub const OVERWHELMING_RATIO: f64 = 10.0;

/// ... and at least this many voters: ten removals against an expected one can be chance
/// in a register of millions of areas; fifty against five is not.
pub const OVERWHELMING_VOTERS: f64 = 50.0;

/// Record rules that roll up register-wide, not per district: both see duplicate
/// registrations, whose records often sit in two districts (a voter who moved and registered
/// again), so the district of the first record is no place of the event.
pub const REGISTER_WIDE_RULES: [&str; 2] = [DUPLICATE_RULE, "R-ID-REPEATED"];

/// Rules that identify an explained routine event (see `anomalies::routine`).
pub const ROUTINE_RULES: [&str; 3] = ["A-ROUTINE-UNIFORM", "A-ROUTINE-REDISTRICT", "A-REKEY"];

/// Why an incident has its severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Basis {
    /// Two or more rules saw it.
    Corroborated,
    /// One rule, overwhelming on its own ([`OVERWHELMING_RATIO`], or a rule without a
    /// baseline because it states a fact).
    Overwhelming,
    /// One rule, not overwhelming: `medium` at most.
    Single,
    /// An explained routine event and the findings mostly about it: `low` at most.
    Routine,
    /// One record rule on many records of one district, rolled up.
    RolledUp,
    /// Several record rules on records one account entered in one district and interval.
    Batch,
}

impl Basis {
    pub const fn name(self) -> &'static str {
        match self {
            Basis::Corroborated => "corroborated",
            Basis::Overwhelming => "overwhelming",
            Basis::Single => "single_signal",
            Basis::Routine => "routine",
            Basis::RolledUp => "rolled_up",
            Basis::Batch => "batch",
        }
    }
}

/// One underlying event.
#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    /// `I` and 12 hex digits over the primary finding's rule, scope, scope value, voters and
    /// date (for a roll-up: rule, district and date): the same on every rerun of the same
    /// inputs, and one per incident (one account's two bursts in one interval are two).
    pub id: String,
    pub severity: Severity,
    pub basis: Basis,
    /// Indices into the findings grouped; the primary finding (most severe, then most
    /// voters, of the event's own findings when it has any besides record findings) first,
    /// the others in their given order.
    pub findings: Vec<usize>,
    /// The distinct rules, in the order of `findings`.
    pub rules: Vec<&'static str>,
    /// Every voter of its findings, sorted, once.
    pub voter_ids: Vec<String>,
    /// The end of the interval the event happened in: its change findings' earliest, else
    /// its primary finding's date.
    pub snapshot_date: Option<i32>,
    /// The district of a roll-up's records (when the snapshot has districts).
    pub district: Option<String>,
    /// The accounts that last edited its voters in the latest snapshot, most edits first (at
    /// most [`ACCOUNTS_SHOWN`]), with their counts.
    pub accounts: Vec<(String, usize)>,
    /// The first and last of those edits, as the snapshot writes them.
    pub first_edit: Option<String>,
    pub last_edit: Option<String>,
}

/// Accounts named per incident.
pub const ACCOUNTS_SHOWN: usize = 3;

/// Groups `findings` (as the audit or scan orders them) into incidents, most severe first.
/// `snapshots` are the series in date order, each with its date: the latest gives the
/// districts of record findings, and the snapshot an incident's interval ends at gives the
/// edit stamps of its voters, counted only inside that interval.
pub fn group(findings: &[Finding], snapshots: &[(i32, &Snapshot)]) -> Vec<Incident> {
    let record = |f: &Finding| f.scope == Scope::Record;
    // The scan's rules describe the latest snapshot, which holds every earlier interval's
    // events: a crowded address is the bulk registration of whichever interval made it.
    let of_latest = |f: &Finding| f.rule.starts_with("R-") || f.rule == DUPLICATE_RULE;
    // Not with a routine event, though: a redistricting explains the changes of its
    // interval, not the state of every address in its district today.
    let routine = |f: &Finding| ROUTINE_RULES.contains(&f.rule);
    let same_time = |a: &Finding, b: &Finding| {
        a.snapshot_date == b.snapshot_date
            || ((of_latest(a) || of_latest(b)) && !routine(a) && !routine(b))
    };
    let named = Named::of(findings);
    let numbers: Vec<Vec<u32>> = findings.par_iter().map(|f| named.numbers(f)).collect();
    let mut sets = DisjointSets::new(findings.len());
    // Events: findings sharing most of their voters.
    let by_voter = ByVoter::of(&numbers, named.len(), |i| !record(&findings[i]));
    // Voters shared per pair of findings (at 10,000,000 voters, millions of voters sit in
    // several findings each). The groups do not depend on the order of the joins; a fixed
    // hasher keeps even that the same on every run.
    let mut shared: HashMap<(u32, u32), usize, foldhash::fast::FixedState> = HashMap::default();
    for list in by_voter.lists() {
        for (k, &i) in list.iter().enumerate() {
            for &j in &list[k + 1..] {
                if same_time(&findings[i as usize], &findings[j as usize]) {
                    *shared.entry((i, j)).or_insert(0) += 1;
                }
            }
        }
    }
    // A register-wide finding that is no routine event (every removal in the quiet period,
    // every edit after the freeze) can hold several events at once: it joins only the finding
    // it shares the most voters with. At 10,000,000 voters the quiet period's 318,030
    // removals held both the routine list maintenance and a party's purge in one district,
    // and glued them into one routine incident held at low.
    let umbrella = |f: &Finding| f.scope == Scope::Snapshot && !routine(f);
    let mut best: BTreeMap<usize, (usize, std::cmp::Reverse<usize>)> = BTreeMap::new();
    for (&(i, j), &n) in &shared {
        let (i, j) = (i as usize, j as usize);
        let (a, b) = (findings[i].voter_ids.len(), findings[j].voter_ids.len());
        // Across intervals, most of both: a crowded address is the bulk registration at it,
        // not every large event that happens to include its residents.
        let of = match findings[i].snapshot_date == findings[j].snapshot_date {
            true => a.min(b),
            false => a.max(b),
        };
        if (n as f64) < SHARED_VOTERS * of as f64 {
            continue;
        }
        match (umbrella(&findings[i]), umbrella(&findings[j])) {
            (false, false) => {
                sets.union(i as u32, j as u32);
            }
            (true, false) | (false, true) => {
                let (u, other) = if umbrella(&findings[i]) {
                    (i, j)
                } else {
                    (j, i)
                };
                let candidate = (n, std::cmp::Reverse(other));
                let held = best.entry(u).or_insert(candidate);
                *held = (*held).max(candidate);
            }
            (true, true) => {}
        }
    }
    for (u, (_, std::cmp::Reverse(other))) in best {
        sets.union(u as u32, other as u32);
    }
    // Records: to the event that holds all their voters, else rolled up by rule and
    // district.
    let voters = Voters::of(&named, numbers, snapshots);
    // Each event named by its first finding, whichever set root the joins left.
    let mut first_of: Map<u32, usize> = Map::default();
    for i in 0..findings.len() {
        first_of.entry(sets.find(i as u32)).or_insert(i);
    }
    let event_of: Vec<usize> = (0..findings.len())
        .map(|i| first_of[&sets.find(i as u32)])
        .collect();
    let routine_events: Set<usize> = (0..findings.len())
        .filter(|&i| routine(&findings[i]))
        .map(|i| event_of[i])
        .collect();
    // A record finding joins only an event at least as severe as itself: records describe an
    // event's voters and must not raise it (a busy clerk's edits touch records with repeated
    // ids by chance), nor be hidden in a milder one.
    let mut event_worst: Map<usize, Severity> = Map::default();
    for (i, f) in findings.iter().enumerate().filter(|(_, f)| !record(f)) {
        let worst = event_worst.entry(event_of[i]).or_insert(f.severity);
        *worst = (*worst).max(f.severity);
    }
    let mut rollups: BTreeMap<(&str, Option<&str>, Option<i32>), usize> = BTreeMap::new();
    let mut rolled: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, f) in findings.iter().enumerate().filter(|(_, f)| record(f)) {
        let mut events: BTreeMap<usize, usize> = BTreeMap::new();
        for &v in &voters.numbers[i] {
            let mut seen: Set<usize> = Set::default();
            for &e in by_voter.of_voter(v) {
                if seen.insert(event_of[e as usize]) {
                    *events.entry(event_of[e as usize]).or_insert(0) += 1;
                }
            }
        }
        // All its voters in one event (the first such, if several).
        let event = events
            .iter()
            .filter(|&(e, &n)| {
                n == f.voter_ids.len()
                    && !routine_events.contains(e)
                    && event_worst.get(e).is_some_and(|&w| w >= f.severity)
            })
            .map(|(&e, _)| e)
            .next();
        let target = event.unwrap_or_else(|| {
            let area = match REGISTER_WIDE_RULES.contains(&f.rule) {
                true => None,
                false => voters.district_of_first(i),
            };
            let target = *rollups.entry((f.rule, area, f.snapshot_date)).or_insert(i);
            rolled.entry(target).or_default().push(i);
            target
        });
        sets.union(target as u32, i as u32);
    }
    // Batches: roll-ups of several record rules in one district whose records were all
    // entered in one interval by one account are one event (a batch of impossible records
    // keyed in by one clerk reads as one incident, not one per rule).
    let batch_dates = batches(findings, &rolled, snapshots, &voters, &mut sets);
    let mut groups: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for i in 0..findings.len() {
        groups.entry(sets.find(i as u32)).or_default().push(i);
    }
    // Each group's interval: its change findings' (a crowded address found in the latest
    // snapshot was made in the interval its arrivals were), else its own; and the index of
    // the snapshot that interval ends at.
    let dated: Vec<(Vec<usize>, Option<i32>, usize)> = groups
        .into_values()
        .map(|members| {
            let date = members
                .iter()
                .map(|&i| &findings[i])
                .filter(|f| !of_latest(f))
                .filter_map(|f| f.snapshot_date)
                .min()
                .or_else(|| members.iter().find_map(|i| batch_dates.get(i).copied()))
                .or_else(|| members.iter().find_map(|&i| findings[i].snapshot_date));
            let end = date
                .and_then(|d| snapshots.iter().position(|&(s, _)| s == d))
                .unwrap_or(snapshots.len() - 1);
            (members, date, end)
        })
        .collect();
    // Each group's voters are gathered, sorted and looked up on its own: on every core.
    let mut incidents: Vec<Incident> = dated
        .into_par_iter()
        .map(|(members, date, end)| {
            let after = end.checked_sub(1).map(|k| snapshots[k].0);
            let interval = (after, snapshots[end].0);
            let stamps = EditStamps::of(snapshots[end].1, &voters.rows[end]);
            incident(findings, members, &voters, &stamps, interval, date)
        })
        .collect();
    incidents.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.voter_ids.len().cmp(&a.voter_ids.len()))
            .then(a.id.cmp(&b.id))
    });
    incidents
}

/// The voters of the findings being grouped: numbered ([`Named`]), each finding's as
/// numbers, and their rows in every snapshot of the series.
struct Voters<'a> {
    named: &'a Named<'a>,
    numbers: Vec<Vec<u32>>,
    /// Per snapshot of the series (in date order), each voter's row ([`NO_ROW`] where none).
    rows: Vec<Vec<u32>>,
    /// The latest snapshot's districts, if it has them.
    districts: Option<FieldColumn<'a>>,
}

impl<'a> Voters<'a> {
    fn of(
        named: &'a Named<'a>,
        numbers: Vec<Vec<u32>>,
        snapshots: &[(i32, &'a Snapshot)],
    ) -> Voters<'a> {
        let rows = snapshots
            .iter()
            .map(|&(_, snapshot)| named.rows_in(snapshot))
            .collect();
        let latest = snapshots.last().expect("a snapshot").1;
        Voters {
            named,
            numbers,
            rows,
            districts: latest.column(Field::District),
        }
    }

    /// The district of voter `n` in the latest snapshot.
    fn district(&self, n: u32) -> Option<&'a str> {
        let row = self.rows.last()?[n as usize];
        match row {
            NO_ROW => None,
            row => self.districts.as_ref()?.str(row as usize),
        }
    }

    /// The district of finding `i`'s first voter in the latest snapshot.
    fn district_of_first(&self, i: usize) -> Option<&'a str> {
        self.district(*self.numbers[i].first()?)
    }
}

fn incident(
    findings: &[Finding],
    mut members: Vec<usize>,
    voters: &Voters<'_>,
    stamps: &EditStamps<'_>,
    interval: (Option<i32>, i32),
    snapshot_date: Option<i32>,
) -> Incident {
    // Record findings attached to an event describe its voters: the event's own findings
    // give its primary finding and its severity (a busy clerk's medium volume is not high
    // because one of the records it touched repeats a national id).
    let of_event: Vec<usize> = members
        .iter()
        .copied()
        .filter(|&i| findings[i].scope != Scope::Record)
        .collect();
    let own = match of_event.is_empty() {
        true => &members,
        false => &of_event,
    };
    let primary = *own
        .iter()
        .max_by_key(|&&i| {
            let f = &findings[i];
            (f.severity, f.voter_ids.len(), std::cmp::Reverse(i))
        })
        .expect("a group has a finding");
    let worst = own.iter().map(|&i| findings[i].severity).max();
    let worst = worst.expect("a group has a finding");
    members.retain(|&i| i != primary);
    members.insert(0, primary);
    let p = &findings[primary];
    let mut rules: Vec<&'static str> = Vec::new();
    for &i in &members {
        if !rules.contains(&findings[i].rule) {
            rules.push(findings[i].rule);
        }
    }
    // Numbered in id order: sorted numbers are sorted ids.
    let mut numbers: Vec<u32> = members
        .iter()
        .flat_map(|&i| voters.numbers[i].iter().copied())
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    let voter_ids: Vec<String> = numbers
        .iter()
        .map(|&n| voters.named.id(n).to_string())
        .collect();
    let records_only = members.iter().all(|&i| findings[i].scope == Scope::Record);
    let rolled_up = records_only && rules.len() == 1 && members.len() > 1;
    let batch = records_only && rules.len() > 1;
    let area = match p.scope {
        Scope::Record if !REGISTER_WIDE_RULES.contains(&p.rule) => {
            voters.district_of_first(primary).map(str::to_string)
        }
        _ => None,
    };
    let (basis, severity) = if rules.iter().any(|r| ROUTINE_RULES.contains(r)) {
        (Basis::Routine, worst.min(Severity::Low))
    } else if rolled_up {
        (Basis::RolledUp, worst)
    } else if batch {
        (Basis::Batch, worst)
    } else if signals(&members, findings).len() >= 2 {
        (Basis::Corroborated, worst)
    } else if overwhelming(p) {
        (Basis::Overwhelming, worst)
    } else {
        (Basis::Single, worst.min(Severity::Medium))
    };
    let key: Vec<String> = match (rolled_up, batch) {
        (true, _) => vec![p.rule.into(), area.clone().unwrap_or_default()],
        (_, true) => {
            let mut key = vec!["batch".to_string(), area.clone().unwrap_or_default()];
            key.extend(rules.iter().map(|r| r.to_string()));
            key
        }
        _ => {
            let mut key = vec![p.rule.into(), p.scope.name().into(), p.scope_value.clone()];
            key.extend(p.voter_ids.iter().cloned());
            key
        }
    };
    let date = p.snapshot_date.map_or(String::new(), |d| d.to_string());
    let mut bytes = Vec::new();
    for part in key.iter().map(String::as_str).chain([date.as_str()]) {
        bytes.extend_from_slice(part.as_bytes());
        bytes.push(0x1f);
    }
    let (accounts, first_edit, last_edit) = stamps.of_voters(&numbers, interval);
    Incident {
        id: format!("I{:012x}", xxh3_64(&bytes) >> 16),
        severity,
        basis,
        findings: members,
        rules,
        voter_ids,
        snapshot_date,
        district: area,
        accounts,
        first_edit,
        last_edit,
    }
}

/// The rules that saw the event among `members` (indices into `findings`), each once, in
/// their order. Record findings attached to an event describe its voters; they are not a
/// second view of the event (a duplicate cluster that holds one purged voter corroborates
/// nothing).
pub fn signals(members: &[usize], findings: &[Finding]) -> Vec<&'static str> {
    let mut rules: Vec<&'static str> = Vec::new();
    for f in members.iter().map(|&i| &findings[i]) {
        if f.scope != Scope::Record && !rules.contains(&f.rule) {
            rules.push(f.rule);
        }
    }
    rules
}

/// Overwhelming on its own: a count far beyond its baseline, or a rule that states a fact
/// (no baseline, or one of none: an id reassigned, an edit after the freeze).
fn overwhelming(f: &Finding) -> bool {
    match f.evidence.expected {
        None => f.evidence.effect_size.is_none() && f.evidence.p_value.is_none(),
        Some(0.0) => f.evidence.observed > 0.0,
        Some(expected) => {
            f.evidence.observed >= OVERWHELMING_RATIO * expected.max(1.0)
                && f.evidence.observed >= OVERWHELMING_VOTERS
        }
    }
}

/// Joins the roll-ups (`rolled`: each roll-up's first finding and its members) whose records
/// were all entered in one district, in one interval and by one account, when at least two
/// rules share that batch. A record is entered where it first appears in the series (never
/// the first snapshot, whose records predate the series), in the district and by the account
/// stamped on it there (a record that moved since is still of its batch). Roll-ups holding records of several batches stay apart: a district's late
/// registrations by all its clerks are the calendar's, not one batch. Returns the date each
/// joined roll-up's records were entered by (the end of their interval).
fn batches(
    findings: &[Finding],
    rolled: &BTreeMap<usize, Vec<usize>>,
    snapshots: &[(i32, &Snapshot)],
    voters: &Voters<'_>,
    sets: &mut DisjointSets,
) -> Map<usize, i32> {
    let mut wanted: Vec<u32> = rolled
        .iter()
        .filter(|(&t, _)| !REGISTER_WIDE_RULES.contains(&findings[t].rule))
        .flat_map(|(_, members)| members.iter())
        .flat_map(|&i| voters.numbers[i].iter().copied())
        .collect();
    if snapshots.len() < 2 || wanted.is_empty() {
        return Map::default();
    }
    wanted.sort_unstable();
    wanted.dedup();
    // Where each voter first appears (index), and its district and account there; `None`
    // inside when it first appears in the first snapshot or without an account.
    type Batch<'b> = (Option<&'b str>, usize, &'b str);
    let mut entered: Map<u32, Option<Batch<'_>>> = Map::default();
    for (k, (&(_, snapshot), rows)) in snapshots.iter().zip(&voters.rows).enumerate() {
        let (by, district) = (
            snapshot.column(Field::ChangedBy),
            snapshot.column(Field::District),
        );
        for &n in &wanted {
            let row = rows[n as usize] as usize;
            if row == NO_ROW as usize || entered.contains_key(&n) {
                continue;
            }
            let account = by.as_ref().and_then(|c| c.str(row));
            let area = district.as_ref().and_then(|c| c.str(row));
            entered.insert(n, account.filter(|_| k > 0).map(|a| (area, k, a)));
        }
    }
    let mut by_batch: BTreeMap<Batch<'_>, Vec<usize>> = BTreeMap::new();
    for (&target, members) in rolled {
        let mut keys = members
            .iter()
            .flat_map(|&i| voters.numbers[i].iter())
            .map(|n| entered.get(n).copied().flatten());
        let Some(Some(first)) = keys.next() else {
            continue;
        };
        if keys.all(|key| key == Some(first)) {
            by_batch.entry(first).or_default().push(target);
        }
    }
    let mut dates = Map::default();
    for ((_, k, _), targets) in by_batch.into_iter().filter(|(_, t)| t.len() > 1) {
        for &t in &targets {
            sets.union(targets[0] as u32, t as u32);
            dates.insert(t, snapshots[k].0);
        }
    }
    dates
}

/// Who last edited the voters the findings name, and when, in one snapshot: read from its
/// columns where an incident asks, the rows found once ([`Voters`]).
struct EditStamps<'a> {
    by: Option<FieldColumn<'a>>,
    at: Option<FieldColumn<'a>>,
    /// Each voter's row ([`NO_ROW`] where none).
    rows: &'a [u32],
}

impl<'a> EditStamps<'a> {
    fn of(snapshot: &'a Snapshot, rows: &'a [u32]) -> EditStamps<'a> {
        EditStamps {
            by: snapshot.column(Field::ChangedBy),
            at: snapshot.column(Field::ChangedAt),
            rows,
        }
    }

    /// The accounts (most edits first, at most [`ACCOUNTS_SHOWN`]) and the first and last
    /// edit of `voters`, of the edits stamped on or after the day `interval.0` (if any) and on
    /// or before the day `interval.1`: who made the change, not who touched the record years
    /// ago.
    fn of_voters(
        &self,
        voters: &[u32],
        interval: (Option<i32>, i32),
    ) -> (Vec<(String, usize)>, Option<String>, Option<String>) {
        let rows = || {
            let found = voters.iter().map(|&n| self.rows[n as usize]);
            found.filter(|&row| row != NO_ROW).map(|row| row as usize)
        };
        match &self.at {
            // Stamps as numbers: on or after the first day's midnight and before the midnight
            // after the last, the edits the written stamps select below.
            Some(FieldColumn::Millis(at)) => {
                let after = interval.0.map(|d| i64::from(d) * MS_PER_DAY);
                let until = (i64::from(interval.1) + 1) * MS_PER_DAY;
                let inside = |&w: &i64| after.is_none_or(|a| w >= a) && w < until;
                let show = |w: i64| IsoTimestamp(w).to_string();
                self.tally(rows(), |row| at.get(row), inside, show)
            }
            at => {
                let day = |d: i32| crate::dates::IsoDate(d).to_string();
                let (after, until) = (interval.0.map(day), day(interval.1 + 1));
                let inside = |w: &Cow<'_, str>| {
                    let w = w.as_ref();
                    after.as_deref().is_none_or(|a| w > a) && w < until.as_str()
                };
                let when = |row| at.as_ref().and_then(|c| c.text(row));
                self.tally(rows(), when, inside, Cow::into_owned)
            }
        }
    }

    /// The accounts, first and last edit of `rows` whose stamp (`when`) is `inside` the
    /// interval or missing.
    fn tally<W: Ord + Clone>(
        &self,
        rows: impl Iterator<Item = usize>,
        when: impl Fn(usize) -> Option<W>,
        inside: impl Fn(&W) -> bool,
        show: impl Fn(W) -> String,
    ) -> (Vec<(String, usize)>, Option<String>, Option<String>) {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let (mut first, mut last): (Option<W>, Option<W>) = (None, None);
        for row in rows {
            let when = when(row);
            if !when.as_ref().is_none_or(&inside) {
                continue;
            }
            if let Some(who) = self.by.as_ref().and_then(|c| c.str(row)) {
                *counts.entry(who).or_insert(0) += 1;
            }
            if let Some(when) = when {
                last = match last {
                    Some(l) if l >= when => Some(l),
                    _ => Some(when.clone()),
                };
                first = match first {
                    Some(f) if f <= when => Some(f),
                    _ => Some(when),
                };
            }
        }
        let mut accounts: Vec<(String, usize)> = counts
            .into_iter()
            .map(|(a, n)| (a.to_string(), n))
            .collect();
        accounts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        accounts.truncate(ACCOUNTS_SHOWN);
        (accounts, first.map(&show), last.map(&show))
    }
}
