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

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{in_new, sorted, voter_id, where_it_was, AnomalyResult, Interval, Prepared};
use crate::diff::ChangeKind;
use crate::findings::{Evidence, Finding, RuleRun, Scope, Severity};
use crate::model::Field;

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
        for (field, scope) in [
            (Field::Precinct, Scope::Precinct),
            (Field::District, Scope::District),
        ] {
            if iv.old.has(field) {
                let exposure = prepared.old_sizes(field);
                transitions(
                    iv,
                    scope,
                    |r| where_it_was(iv, r, field),
                    &exposure,
                    config,
                    out,
                );
            }
        }
        if iv.new.has(Field::ChangedBy) {
            // Per account: the exposure is the account's number of edits.
            let mut exposure: BTreeMap<String, u64> = BTreeMap::new();
            for r in &iv.diff.records {
                if let Some(op) = in_new(iv, r, Field::ChangedBy) {
                    *exposure.entry(op).or_default() += 1;
                }
            }
            let key = |r: &crate::diff::RecordChange| in_new(iv, r, Field::ChangedBy);
            transitions(iv, Scope::Operator, key, &exposure, config, out);
        }
        addresses(iv, &prepared.arrived, config, out);
    }
}

/// The transition signature of a changed record, if it has one worth grouping.
fn signatures(iv: &Interval<'_>, r: &crate::diff::RecordChange) -> Vec<String> {
    let mut sigs = Vec::new();
    for kind in &r.kinds {
        match kind {
            ChangeKind::PartyChange => sigs.push(format!(
                "party {} -> {}",
                where_it_was(iv, r, Field::Party).unwrap_or_default(),
                in_new(iv, r, Field::Party).unwrap_or_default()
            )),
            ChangeKind::Removal if r.new_row.is_some() => sigs.push(format!(
                "status -> removed ({})",
                in_new(iv, r, Field::StatusReason).unwrap_or_else(|| "no reason".into())
            )),
            ChangeKind::Reactivation => sigs.push(format!(
                "status {} ({}) -> active",
                where_it_was(iv, r, Field::Status).unwrap_or_default(),
                where_it_was(iv, r, Field::StatusReason).unwrap_or_else(|| "no reason".into())
            )),
            ChangeKind::BirthDateChange => sigs.push("birth date edited".into()),
            _ => {}
        }
    }
    sigs
}

/// Groups changed records by (transition, `group_of` the record) and flags large groups
/// against the same transition's rate in all other groups.
fn transitions(
    iv: &Interval<'_>,
    scope: Scope,
    group_of: impl Fn(&crate::diff::RecordChange) -> Option<String>,
    exposure: &BTreeMap<String, u64>,
    config: &EventConfig,
    out: &mut AnomalyResult,
) {
    let total_exposure: u64 = exposure.values().sum();
    let mut groups: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for r in &iv.diff.records {
        let Some(area) = group_of(r) else { continue };
        for sig in signatures(iv, r) {
            groups
                .entry((sig, area.clone()))
                .or_default()
                .push(voter_id(iv, r));
        }
    }
    let mut per_signature: HashMap<&str, usize> = HashMap::new();
    for ((sig, _), ids) in &groups {
        *per_signature.entry(sig.as_str()).or_default() += ids.len();
    }
    for ((sig, area), ids) in &groups {
        if ids.len() < config.min_event {
            continue;
        }
        let n = exposure.get(area).copied().unwrap_or(0);
        let others = per_signature[sig.as_str()] - ids.len();
        let other_exposure = total_exposure.saturating_sub(n).max(1);
        // Half an event floor: a transition never seen elsewhere still has a finite baseline.
        let expected = (others as f64).max(0.5) / other_exposure as f64 * n as f64;
        let ratio = ids.len() as f64 / expected.max(1e-9);
        if ratio < config.min_ratio {
            continue;
        }
        out.findings.push(Finding {
            rule: "A-EVENT-TRANSITION",
            severity: if ratio >= config.high_ratio && ids.len() >= 50 {
                Severity::High
            } else {
                Severity::Medium
            },
            scope,
            scope_value: area.clone(),
            evidence: Evidence {
                observed: ids.len() as f64,
                expected: Some(expected),
                effect_size: Some(ratio),
                baseline: format!(
                    "the same transition in all other {}s: {others} of {other_exposure} records",
                    scope.name()
                ),
                facts: vec![("transition", sig.clone()), ("exposure", n.to_string())],
                ..Evidence::default()
            },
            voter_ids: sorted(ids.clone()),
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
    residents_before: HashMap<String, usize>,
}

/// An address and its precinct, as arrivals and residents are keyed.
fn address_key(addr: Option<String>, precinct: Option<String>) -> Option<String> {
    addr.map(|a| format!("{} ({})", a.to_uppercase(), precinct.unwrap_or_default()))
}

/// The arrivals of the interval that qualify as a possible bulk registration: enough voters
/// under enough family names.
fn arrivals(iv: &Interval<'_>, config: &EventConfig) -> Arrivals {
    let mut arrivals = Arrivals::new();
    if !(iv.new.has(Field::AddressLine) && iv.new.has(Field::FamilyName)) {
        return arrivals;
    }
    for r in &iv.diff.records {
        let moved = r.kinds.contains(&ChangeKind::MoveWithinPrecinct)
            || r.kinds.contains(&ChangeKind::MoveOutOfPrecinct);
        let registered = r.kinds.contains(&ChangeKind::NewRegistration);
        if !moved && !registered {
            continue;
        }
        let precinct = in_new(iv, r, Field::Precinct);
        let Some(k) = address_key(in_new(iv, r, Field::AddressLine), precinct.clone()) else {
            continue;
        };
        let entry = arrivals.entry((k, moved)).or_default();
        entry.0.push(voter_id(iv, r));
        if let Some(f) = in_new(iv, r, Field::FamilyName) {
            entry.1.insert(f.to_uppercase());
        }
        entry.2 = precinct.unwrap_or_default();
    }
    arrivals.retain(|_, (ids, families, _)| {
        ids.len() >= config.min_address_voters && families.len() >= config.min_families
    });
    arrivals
}

/// The qualifying arrivals, and the residents of the whole earlier snapshot counted only in
/// the precincts of those addresses: building the key of every record of OLD was most of this
/// detector's time.
pub(crate) fn arrived(iv: &Interval<'_>, config: &EventConfig) -> Arrived {
    let arrivals = arrivals(iv, config);
    let precincts: HashSet<&str> = arrivals.values().map(|a| a.2.as_str()).collect();
    let mut residents_before = HashMap::new();
    if let Some(lines) = iv
        .old
        .texts(Field::AddressLine)
        .filter(|_| !precincts.is_empty())
    {
        let in_precinct = iv.old.texts(Field::Precinct);
        for (row, line) in lines.into_iter().enumerate() {
            let precinct = in_precinct.as_ref().and_then(|p| p[row]);
            if !precincts.contains(precinct.unwrap_or("")) {
                continue;
            }
            if let Some(k) = address_key(line.map(str::to_string), precinct.map(str::to_string)) {
                *residents_before.entry(k).or_default() += 1;
            }
        }
    }
    Arrived {
        arrivals,
        residents_before,
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
