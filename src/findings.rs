//! Findings: what the rules and the anomaly detectors hand to the report layer.
//!
//! A finding is plain data — the rule that fired, how serious it is, where, the numbers that
//! support it, and the voters it concerns — so that a report can word it and a pipeline can
//! parse it, and an auditor can check every number. The engine never formats findings.
//!
//! Every rule also reports whether it ran: a rule whose fields the input lacks is
//! [`RuleStatus::Skipped`], never silently passed.

use crate::model::Field;

/// Rule id of a duplicate cluster found by the deduplicator (the audit's one finding per
/// cluster).
pub const DUPLICATE_RULE: &str = "D-DUPLICATE-CLUSTER";

/// How urgently a human must look.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Routine, explained (list maintenance, redistricting): shown, never alarming.
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// How many of `severities` are at each severity, indexed in [`Severity::ALL`] order.
    pub fn tally(severities: impl Iterator<Item = Severity>) -> [usize; Severity::ALL.len()] {
        let mut n = [0; Severity::ALL.len()];
        for s in severities {
            n[s as usize] += 1;
        }
        n
    }

    pub fn from_name(name: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// What a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Record,
    Address,
    Phone,
    Email,
    Precinct,
    District,
    Region,
    Operator,
    Snapshot,
}

impl Scope {
    pub const fn name(self) -> &'static str {
        match self {
            Scope::Record => "record",
            Scope::Address => "address",
            Scope::Phone => "phone",
            Scope::Email => "email",
            Scope::Precinct => "precinct",
            Scope::District => "district",
            Scope::Region => "region",
            Scope::Operator => "operator",
            Scope::Snapshot => "snapshot",
        }
    }
}

/// The numbers behind a finding. Unused measures are `None`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evidence {
    /// What was seen (a count, a rate, an age ...).
    pub observed: f64,
    /// What the baseline predicts.
    pub expected: Option<f64>,
    /// Size of the departure, in the rule's unit (a rate ratio, a robust z, ...).
    pub effect_size: Option<f64>,
    pub p_value: Option<f64>,
    /// The Benjamini-Hochberg adjusted p-value, where many tests were run.
    pub q_value: Option<f64>,
    /// The baseline used, as data: e.g. `peers: 41 precincts of district D03, same interval`.
    pub baseline: String,
    /// Rule-specific facts as (name, value) pairs, e.g. `("field", "party")`.
    pub facts: Vec<(&'static str, String)>,
}

/// One thing a human must look at.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// Stable rule id, e.g. `R-AGE-UNDER` or `A-PEER-RATE`.
    pub rule: &'static str,
    pub severity: Severity,
    pub scope: Scope,
    /// The area, address, operator ... the finding is about (the voter id for `Record`).
    pub scope_value: String,
    pub evidence: Evidence,
    /// Voter ids concerned, sorted.
    pub voter_ids: Vec<String>,
    /// Snapshot date (days since 1970) the finding refers to: the later one for a change.
    pub snapshot_date: Option<i32>,
}

/// Whether a rule ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleStatus {
    Ran,
    /// The input lacks fields the rule needs.
    Skipped {
        missing: Vec<Field>,
    },
    /// Not applicable to this input for another stated reason (e.g. no calendar given).
    NotApplicable {
        why: &'static str,
    },
}

/// A rule and whether it ran, for the report's list of checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleRun {
    pub rule: &'static str,
    pub status: RuleStatus,
}

impl RuleRun {
    /// `Ran` when the snapshot has every field in `needs`, else `Skipped` listing the absent ones.
    pub fn check(rule: &'static str, has: impl Fn(Field) -> bool, needs: &[Field]) -> RuleRun {
        let missing: Vec<Field> = needs.iter().copied().filter(|f| !has(*f)).collect();
        RuleRun {
            rule,
            status: if missing.is_empty() {
                RuleStatus::Ran
            } else {
                RuleStatus::Skipped { missing }
            },
        }
    }

    pub fn ran(&self) -> bool {
        self.status == RuleStatus::Ran
    }
}
