//! Edit events: many records changed the same way, in one place, in one interval.
//!
//! An attack or a faulty batch job leaves a signature: the same field transition (party A to
//! B; status to `removed` with one reason; reactivations; birth-date edits) concentrated in
//! one area, or many unrelated voters moved to one address (mail-ballot redirection). Such an
//! event can hide in an area whose overall change rate looks normal, so events are judged on
//! their own signature:
//!
//! - `A-EVENT-TRANSITION`: a group of at least `min_event` (25) records with one transition in
//!   one precinct or district, at least `min_ratio` (5) times what the same transition's
//!   rate in all *other* areas predicts for this area's size (leave-one-out, so the event does
//!   not set its own baseline). `high` from `high_ratio` (20) times and 50 records.
//! - `A-EVENT-ADDRESS`: at least `min_address_voters` (10) voters from at least
//!   `min_families` (3) family names moved to one address in one interval (a household moving
//!   together has one or two family names; DOMAIN.md: mass address changes to one address are
//!   a known redirection pattern), `high`; or newly registered at one address, `medium`,
//!   downgraded to `low` where the address already held `institution_size` (20) voters (care
//!   homes and dormitories legitimately gain residents in bulk).

use std::collections::{BTreeMap, HashSet};

use super::{sorted, voter_id, AnomalyResult, FieldOf, Interval, Prepared};
use crate::diff::{ChangeKind, RecordChange};
use crate::findings::{Evidence, Finding, RuleRun, Scope, Severity};
use crate::hashing::Map;
use crate::model::Field;
use crate::snapshot::{judge_texts, Snapshot};

#[derive(Clone, Debug)]
pub struct EventConfig {
    pub min_event: usize,
    pub min_ratio: f64,
    pub high_ratio: f64,
    pub min_address_voters: usize,
    pub min_families: usize,
    pub institution_size: usize,
}

impl Default for EventConfig {
    fn default() -> Self {
        EventConfig {
            min_event: 25,
            min_ratio: 5.0,
            high_ratio: 20.0,
            min_address_voters: 10,
            min_families: 3,
            institution_size: 20,
        }
    }
}

pub(crate) fn detect(
    intervals: &[Interval<'_>],
    prepared: &[Prepared],
    config: &EventConfig,
    out: &mut AnomalyResult,
) {
    let has = |f| intervals[0].old.has(f);
    out.runs.push(RuleRun::check(
        "A-EVENT-TRANSITION",
        has,
        &[Field::Precinct],
    ));
    out.runs.push(RuleRun::check(
        "A-EVENT-ADDRESS",
        has,
        &[Field::AddressLine, Field::FamilyName],
    ));
    for (iv, prepared) in intervals.iter().zip(prepared) {
        // Each changed record's signatures, taken once for every grouping.
        let signed = Signed::of(iv);
        for (field, scope) in [
            (Field::Precinct, Scope::Precinct),
            (Field::District, Scope::District),
        ] {
            if iv.old.has(field) {
                let exposure = prepared.old_sizes(field);
                let area = FieldOf::of(iv, field);
                transitions(iv, &signed, scope, |r| area.was(r), &exposure, config, out);
            }
        }
        if iv.new.has(Field::ChangedBy) {
            // Per account: the exposure is the account's number of edits.
            let by = FieldOf::of(iv, Field::ChangedBy);
            let mut edits: Map<&str, u64> = Map::default();
            for r in &iv.diff.records {
                if let Some(op) = by.after(r) {
                    *edits.entry(op).or_default() += 1;
                }
            }
            let exposure: BTreeMap<String, u64> = edits
                .into_iter()
                .map(|(op, n)| (op.to_string(), n))
                .collect();
            transitions(
                iv,
                &signed,
                Scope::Operator,
                |r| by.after(r),
                &exposure,
                config,
                out,
            );
        }
        addresses(iv, &prepared.arrived, config, out);
    }
}

/// The transition signatures of an interval's changed records: each record's (index into
/// the diff's records, signature number), and each signature's text, made once per distinct
/// transition: a register has a few dozen transitions and, at 100,000,000 voters, millions
/// of changed records, each of which had its text formatted and hashed as a key.
struct Signed {
    records: Vec<(u32, u32)>,
    /// Distinct texts; equal texts are one signature, however they were made.
    texts: Vec<String>,
}

/// What a signature's text is made of: the transition and the values it names.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Transition<'a> {
    /// Party where it was, in NEW.
    Party(Option<&'a str>, Option<&'a str>),
    /// The status reason in NEW.
    Removed(Option<&'a str>),
    /// Status and reason where it was.
    Reactivated(Option<&'a str>, Option<&'a str>),
    BirthDate,
}

impl Transition<'_> {
    fn text(self) -> String {
        let reason = |r: Option<&str>| r.unwrap_or("no reason").to_string();
        match self {
            Transition::Party(was, now) => {
                format!("party {} -> {}", was.unwrap_or(""), now.unwrap_or(""))
            }
            Transition::Removed(why) => format!("status -> removed ({})", reason(why)),
            Transition::Reactivated(status, why) => {
                format!(
                    "status {} ({}) -> active",
                    status.unwrap_or(""),
                    reason(why)
                )
            }
            Transition::BirthDate => "birth date edited".into(),
        }
    }
}

impl Signed {
    fn of(iv: &Interval<'_>) -> Signed {
        let (party, reason, status) = (
            FieldOf::of(iv, Field::Party),
            FieldOf::of(iv, Field::StatusReason),
            FieldOf::of(iv, Field::Status),
        );
        let mut numbers: Map<Transition<'_>, u32> = Map::default();
        let mut by_text: Map<String, u32> = Map::default();
        let mut signed = Signed {
            records: Vec::new(),
            texts: Vec::new(),
        };
        for (i, r) in iv.diff.records.iter().enumerate() {
            for kind in &r.kinds {
                let transition = match kind {
                    ChangeKind::PartyChange => Transition::Party(party.was(r), party.after(r)),
                    ChangeKind::Removal if r.new_row.is_some() => {
                        Transition::Removed(reason.after(r))
                    }
                    ChangeKind::Reactivation => {
                        Transition::Reactivated(status.was(r), reason.was(r))
                    }
                    ChangeKind::BirthDateChange => Transition::BirthDate,
                    _ => continue,
                };
                let number = *numbers.entry(transition).or_insert_with(|| {
                    let text = transition.text();
                    let next = signed.texts.len() as u32;
                    *by_text.entry(text.clone()).or_insert_with(|| {
                        signed.texts.push(text);
                        next
                    })
                });
                signed.records.push((i as u32, number));
            }
        }
        signed
    }
}

/// Groups the `signed` records (index into the diff's records, signature) by (transition,
/// `group_of` the record) and flags large groups against the same transition's rate in all
/// other groups.
fn transitions<'a>(
    iv: &Interval<'_>,
    signed: &'a Signed,
    scope: Scope,
    group_of: impl Fn(&crate::diff::RecordChange) -> Option<&'a str>,
    exposure: &BTreeMap<String, u64>,
    config: &EventConfig,
    out: &mut AnomalyResult,
) {
    let total_exposure: u64 = exposure.values().sum();
    let mut grouped: Map<(u32, &str), Vec<u32>> = Map::default();
    for &(i, sig) in &signed.records {
        if let Some(area) = group_of(&iv.diff.records[i as usize]) {
            grouped.entry((sig, area)).or_default().push(i);
        }
    }
    let mut per_signature = vec![0usize; signed.texts.len()];
    for ((sig, _), records) in &grouped {
        per_signature[*sig as usize] += records.len();
    }
    // The groups large enough to be events, in (transition, group) order.
    let text = |sig: u32| signed.texts[sig as usize].as_str();
    let mut groups: Vec<((u32, &str), Vec<u32>)> = grouped
        .into_iter()
        .filter(|(_, records)| records.len() >= config.min_event)
        .collect();
    groups.sort_unstable_by(|((a, x), _), ((b, y), _)| (text(*a), x).cmp(&(text(*b), y)));
    for ((number, area), records) in groups {
        let (sig, n) = (text(number), exposure.get(area).copied().unwrap_or(0));
        let others = per_signature[number as usize] - records.len();
        let other_exposure = total_exposure.saturating_sub(n).max(1);
        // Half an event floor: a transition never seen elsewhere still has a finite baseline.
        let expected = (others as f64).max(0.5) / other_exposure as f64 * n as f64;
        let ratio = records.len() as f64 / expected.max(1e-9);
        if ratio < config.min_ratio {
            continue;
        }
        out.findings.push(Finding {
            rule: "A-EVENT-TRANSITION",
            severity: if ratio >= config.high_ratio && records.len() >= 50 {
                Severity::High
            } else {
                Severity::Medium
            },
            scope,
            scope_value: area.to_string(),
            evidence: Evidence {
                observed: records.len() as f64,
                expected: Some(expected),
                effect_size: Some(ratio),
                baseline: format!(
                    "the same transition in all other {}s: {others} of {other_exposure} records",
                    scope.name()
                ),
                facts: vec![("transition", sig.to_string()), ("exposure", n.to_string())],
                ..Evidence::default()
            },
            voter_ids: sorted(
                records
                    .iter()
                    .map(|&i| voter_id(iv, &iv.diff.records[i as usize]))
                    .collect(),
            ),
            snapshot_date: Some(iv.to),
        });
    }
}

/// Arrivals at one address in one interval: (address, moved in rather than newly
/// registered) -> (ids, family names, precinct).
type Arrivals = BTreeMap<(String, bool), (Vec<String>, HashSet<String>, String)>;

/// The interval's qualifying arrivals, and the records of the whole earlier snapshot at each
/// of their address keys: taken by `anomalies::prepare`, the residents being a count over all
/// of OLD.
pub(crate) struct Arrived {
    arrivals: Arrivals,
    residents_before: Map<String, usize>,
}

/// Appends the key of `address` in `precinct` to `out`: the address upper case, then the
/// precinct in brackets.
fn push_address_key(out: &mut String, address: &str, precinct: Option<&str>) {
    out.extend(address.chars().flat_map(char::to_uppercase));
    out.push_str(" (");
    out.push_str(precinct.unwrap_or_default());
    out.push(')');
}

/// The arrivals of the interval that qualify as a possible bulk registration: enough voters
/// under enough family names.
fn arrivals(iv: &Interval<'_>, config: &EventConfig) -> Arrivals {
    let mut arrivals = Arrivals::new();
    if !(iv.new.has(Field::AddressLine) && iv.new.has(Field::FamilyName)) {
        return arrivals;
    }
    let (line, precinct, family) = (
        FieldOf::of(iv, Field::AddressLine),
        FieldOf::of(iv, Field::Precinct),
        FieldOf::of(iv, Field::FamilyName),
    );
    // The records arriving at each address key (moved in, newly registered): most addresses
    // receive a household at most, so the ids and family names are read only where enough
    // voters arrived.
    let mut at: Map<String, [Vec<&RecordChange>; 2]> = Map::default();
    let mut key = String::new();
    for r in &iv.diff.records {
        let moved = r.kinds.contains(&ChangeKind::MoveWithinPrecinct)
            || r.kinds.contains(&ChangeKind::MoveOutOfPrecinct);
        let registered = r.kinds.contains(&ChangeKind::NewRegistration);
        let Some(address) = line.after(r).filter(|_| moved || registered) else {
            continue;
        };
        key.clear();
        push_address_key(&mut key, address, precinct.after(r));
        if !at.contains_key(key.as_str()) {
            at.insert(key.clone(), Default::default());
        }
        at.get_mut(key.as_str()).expect("just inserted")[usize::from(moved)].push(r);
    }
    for (key, by_arrival) in at {
        for (moved, records) in [false, true].into_iter().zip(by_arrival) {
            if records.len() < config.min_address_voters {
                continue;
            }
            let families: HashSet<String> = records
                .iter()
                .filter_map(|r| family.after(r).map(str::to_uppercase))
                .collect();
            if families.len() < config.min_families {
                continue;
            }
            let ids = records.iter().map(|r| voter_id(iv, r)).collect();
            let last = records.last().expect("at least one record arrived");
            let precinct = precinct.after(last).unwrap_or_default().to_string();
            arrivals.insert((key.clone(), moved), (ids, families, precinct));
        }
    }
    arrivals
}

/// The qualifying arrivals, with their addresses' residents in OLD still to count
/// ([`Arrived::count_residents`] over every part of it): the arrivals come from the diff, so a
/// pass over OLD that the diff streamed comes after it.
pub(crate) fn arrived(iv: &Interval<'_>, config: &EventConfig) -> Arrived {
    let arrivals = arrivals(iv, config);
    let residents_before = arrivals.keys().map(|(k, _)| (k.clone(), 0)).collect();
    Arrived {
        arrivals,
        residents_before,
    }
}

impl Arrived {
    /// Whether any record of OLD needs counting: none when no arrivals qualified.
    pub(crate) fn wants_residents(&self) -> bool {
        !self.arrivals.is_empty()
    }

    /// Counts the residents of the arrivals' addresses in a part of OLD. Only rows in the
    /// arrivals' precincts can share their address keys, and only their keys are counted:
    /// building the key of every record of OLD was most of this detector's time.
    pub(crate) fn count_residents(&mut self, part: &Snapshot) {
        let precincts: HashSet<&str> = self.arrivals.values().map(|a| a.2.as_str()).collect();
        let Some(lines) = part
            .column(Field::AddressLine)
            .filter(|_| !precincts.is_empty())
        else {
            return;
        };
        let rows = part.rows();
        let precinct = part.column(Field::Precinct);
        // Whether each row's precinct is one of the arrivals', judged once per precinct
        // where the column is coded; a row without one is in the precinct "".
        let theirs = precinct.map(|p| judge_texts(p, rows, |p| Some(precincts.contains(p))));
        let missing_is_theirs = precincts.contains("");
        let mut key = String::new();
        for (row, line) in lines.strs(0..rows).enumerate() {
            let in_theirs = theirs.as_ref().and_then(|t| t.at(row).copied());
            let (true, Some(line)) = (in_theirs.unwrap_or(missing_is_theirs), line) else {
                continue;
            };
            key.clear();
            push_address_key(&mut key, line, precinct.as_ref().and_then(|p| p.str(row)));
            if let Some(n) = self.residents_before.get_mut(key.as_str()) {
                *n += 1;
            }
        }
    }
}

fn addresses(iv: &Interval<'_>, arrived: &Arrived, config: &EventConfig, out: &mut AnomalyResult) {
    for ((address, moved), (ids, families, _)) in &arrived.arrivals {
        let moved = *moved;
        let before = arrived.residents_before.get(address).copied().unwrap_or(0);
        let severity = match (moved, before >= config.institution_size) {
            (true, _) => Severity::High,
            (false, false) => Severity::Medium,
            (false, true) => Severity::Low,
        };
        out.findings.push(Finding {
            rule: "A-EVENT-ADDRESS",
            severity,
            scope: Scope::Address,
            scope_value: address.clone(),
            evidence: Evidence {
                observed: ids.len() as f64,
                baseline: "households move and register together under one or two family names"
                    .into(),
                facts: vec![
                    (
                        "arrival",
                        if moved {
                            "moved in"
                        } else {
                            "new registrations"
                        }
                        .to_string(),
                    ),
                    ("family_names", families.len().to_string()),
                    ("residents_before", before.to_string()),
                ],
                ..Evidence::default()
            },
            voter_ids: sorted(ids.clone()),
            snapshot_date: Some(iv.to),
        });
    }
}
