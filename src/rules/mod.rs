//! Record rules on one snapshot (`rollaudit scan`): the records, addresses and contacts a data
//! team must look at before the register is used, each with the rule that fired and why.
//!
//! A register can be wrong without any change between two exports: a test record left on the
//! roll, a 130-year-old who is still active, 45 people registered in three days at one
//! house. [`scan`] checks one [`Snapshot`] against the rules below and returns plain
//! [`Finding`]s and, for every rule, whether it ran ([`RuleRun`]): a rule whose fields the
//! input lacks is reported skipped, never silently passed. It never prints and never reads
//! files (the allowlist and the death registry arrive parsed).
//!
//! # Rules
//!
//! | id | module | fires on |
//! |---|---|---|
//! | `R-MISSING-FIELD` | [`missing`] | required fields with missing values (one finding per field) |
//! | `R-AGE-UNDER` | [`ages`] | a voting record under the voting age on the reference date |
//! | `R-AGE-OVER` | [`ages`] | a current record older than 115 on the reference date |
//! | `R-BIRTH-FUTURE` | [`birth`] | a birth date after the snapshot date |
//! | `R-BIRTH-PLACEHOLDER` | [`birth`] | a known placeholder birth date (1800-01-01, 1900-01-01 ...) |
//! | `R-BIRTH-OVERREP` | [`birth`] | a birth date far more common than its neighbouring days |
//! | `R-REG-BEFORE-BIRTH` | [`registration`] | registered before being born |
//! | `R-REG-UNDER-AGE` | [`registration`] | registered below the minimum registration age |
//! | `R-REG-AFTER-CUTOFF` | [`registration`] | an active registration dated after the cut-off |
//! | `R-REG-FUTURE` | [`registration`] | a registration dated after the snapshot date |
//! | `R-ID-REPEATED` | [`identity`] | one `national_id` on several records |
//! | `R-VOTER-ID-REPEATED` | [`identity`] | one `voter_id` on several rows of the export (the repeats rejected at load) |
//! | `R-NAME-MARKUP` | [`names`] | control characters, markup, bidi overrides, formula prefixes |
//! | `R-NAME-IMPLAUSIBLE` | [`names`] | digits, placeholder words (TEST, UNKNOWN ...) |
//! | `R-ADDRESS-CROWDED` | [`clusters`] | more current registrations at one address than any household |
//! | `R-CONTACT-SHARED` | [`clusters`] | one phone or email on more registrations than any household |
//! | `R-DECEASED-MATCH` | [`deceased`] | an active voter matching a death registry entry |
//!
//! Each module documents its rules' rationale and thresholds, with the source of every number.
//! `voter_id` repeats: the loader rejects every repeated `voter_id` row with the line of the
//! first one (`RejectReason::DuplicateVoterId`), so a loaded snapshot holds one record per id;
//! `R-VOTER-ID-REPEATED` reports the kept record from those rejects.
//!
//! # Reference date
//! Ages are taken on the *reference date*: [`ScanConfig::as_of`] when given (`--as-of`), else
//! the calendar's election day (a voter must be of age on the day they vote), else the
//! snapshot date. Dates that cannot lie in the future (birth, registration) are compared with
//! the snapshot date.
//!
//! # Severity policy
//! - `medium`: one record that cannot be right as it stands (impossible age, registration
//!   before birth, hostile text, a test record). Someone must correct or justify it.
//! - `high`: a pattern that can change who votes: one national id on several active records,
//!   a crowded address whose registrations arrived in a burst, one phone or email shared
//!   across many addresses, a national-id match with a death registry.
//! - `low`: data quality without a direct effect on the roll: a digit in a name, an
//!   over-represented birth date, missing values, placeholder contacts, and every record rule
//!   on a `removed` record (it cannot vote; its errors are history).
//! - `info`: explained: an allowlisted institution, a national id whose other records are all
//!   removed.
//!
//! Nothing here is `critical`: that level is left to change anomalies with legal weight.
//!
//! # Which records count
//! A record's *standing* comes from `status`: `active`, `inactive`, `pending`, `removed`; a
//! snapshot without `status` (or a row with it missing) is taken as active, so that no check
//! is skipped for lack of it. "Current" records are active and pending ones (what the roll
//! will hold); inactive records are usually people who moved (returned mail) and do not
//! count towards crowding.

mod ages;
pub mod allowlist;
mod birth;
mod clusters;
mod columns;
mod deceased;
mod identity;
mod missing;
mod names;
mod registration;
mod windows;

use polars::prelude::StringChunked;
use rayon::prelude::*;

use crate::calendar::ElectionCalendar;
use crate::dates::IsoDate;
use crate::findings::{Evidence, Finding, RuleRun, Scope, Severity};
use crate::load::Reject;
use crate::model::Field;
use crate::snapshot::Snapshot;

pub use allowlist::{Allowlist, AllowlistEntry, AllowlistError};
use columns::{Birth, Standing};
pub use windows::{scan_windows, Scanned};

/// Every rule id [`scan`] reports on, in report order.
pub const RULES: [&str; 17] = [
    missing::RULE,
    ages::UNDER,
    ages::OVER,
    birth::FUTURE,
    birth::PLACEHOLDER,
    birth::OVERREP,
    registration::BEFORE_BIRTH,
    registration::UNDER_AGE,
    registration::AFTER_CUTOFF,
    registration::FUTURE,
    identity::RULE,
    identity::VOTER_ID,
    names::MARKUP,
    names::IMPLAUSIBLE,
    clusters::ADDRESS,
    clusters::CONTACT,
    deceased::RULE,
];

/// Thresholds and switches of the record rules. [`Default`] gives the documented values.
#[derive(Clone, Debug)]
pub struct ScanConfig {
    /// Reference date for ages (days since 1970); `None`: election day, else snapshot date.
    pub as_of: Option<i32>,
    /// Voting age when no calendar is given (a calendar's `voting_age` wins).
    pub voting_age: u32,
    /// Youngest lawful registration age when the calendar has no `pre_registration_age`.
    /// Default 16: the youngest pre-registration age in US states (NCSL, "Preregistration
    /// for Young Voters": 16 in about 17 states and DC).
    pub min_registration_age: u32,
    /// Oldest plausible age. Default 115: the oldest verified person lived to 122 (Jeanne
    /// Calment) and the oldest living people are typically 114 to 116 (Gerontology Research
    /// Group tables), so a register holds essentially nobody above 115.
    pub max_age: u32,
    /// Birth dates that stand for "unknown" beyond the shared list
    /// ([`crate::normalize::is_placeholder_birth_date`], see [`birth`]). Empty by default.
    pub extra_placeholder_birth_dates: Vec<i32>,
    pub overrep: OverrepConfig,
    /// Required fields: each entry is satisfied by any one of its fields.
    pub required: Vec<Vec<Field>>,
    /// Share of records missing a required field above which the finding is `medium`.
    pub missing_medium_share: f64,
    /// Whole words that mark a name as a placeholder or test record (upper case).
    pub placeholder_name_words: Vec<String>,
    pub crowding: CrowdingConfig,
    pub contact: ContactConfig,
    /// Institutions (dormitories, care homes, barracks) whose crowding is expected.
    pub allowlist: Allowlist,
}

/// `R-BIRTH-OVERREP` thresholds (see [`birth`]).
#[derive(Clone, Debug)]
pub struct OverrepConfig {
    /// Days each side of a date whose mean count is the date's expected count.
    pub window_days: i32,
    /// Fewest records on one date before it is tested.
    pub min_count: usize,
    /// Smallest observed / expected ratio that is reported.
    pub min_ratio: f64,
    /// Largest Benjamini-Hochberg q-value that is reported.
    pub max_q: f64,
    /// Ratio from which the finding is `medium` rather than `low`.
    pub medium_ratio: f64,
}

/// `R-ADDRESS-CROWDED` thresholds (see [`clusters`]).
#[derive(Clone, Debug)]
pub struct CrowdingConfig {
    /// Quantile of current registrations per address taken as the largest ordinary household.
    pub quantile: f64,
    /// An address is crowded at `factor` times that quantile ...
    pub factor: f64,
    /// ... and never below this many current registrations.
    pub min_count: usize,
    /// Window for the burst test: a crowded address that received a threshold's worth of
    /// registrations within this many days ...
    pub burst_days: i32,
    /// ... making up at least this share of its current registrations is `high`.
    pub burst_share: f64,
}

/// `R-CONTACT-SHARED` thresholds (see [`clusters`]).
#[derive(Clone, Debug)]
pub struct ContactConfig {
    pub quantile: f64,
    pub factor: f64,
    pub min_count: usize,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            as_of: None,
            voting_age: crate::calendar::DEFAULT_VOTING_AGE,
            min_registration_age: 16,
            max_age: 115,
            extra_placeholder_birth_dates: Vec::new(),
            overrep: OverrepConfig {
                window_days: 30,
                min_count: 5,
                min_ratio: 3.0,
                max_q: 1e-3,
                medium_ratio: 10.0,
            },
            required: missing::default_required(),
            missing_medium_share: 0.05,
            placeholder_name_words: names::default_placeholder_words(),
            crowding: CrowdingConfig {
                quantile: 0.999,
                factor: 2.0,
                min_count: 10,
                burst_days: 30,
                burst_share: 0.5,
            },
            contact: ContactConfig {
                quantile: 0.999,
                factor: 2.0,
                min_count: 8,
            },
            allowlist: Allowlist::default(),
        }
    }
}

/// What [`scan`] found, and which rules ran.
#[derive(Clone, Debug, Default)]
pub struct ScanResult {
    /// Sorted by rule, then scope value, then voter ids.
    pub findings: Vec<Finding>,
    /// One per rule of [`RULES`], in that order.
    pub runs: Vec<RuleRun>,
    /// The parameters actually used, resolved from the configuration, the calendar and the
    /// register itself (e.g. `address_threshold`), so that a second party can reproduce them.
    pub parameters: Vec<(&'static str, String)>,
}

impl ScanResult {
    /// Findings per severity, from `info` to `critical`.
    pub fn severity_counts(&self) -> [usize; 5] {
        Severity::tally(self.findings.iter().map(|f| f.severity))
    }

    /// The most severe finding's severity, if any.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// The date the scan judged the snapshot at (its `snapshot_date` parameter).
    pub fn date(&self) -> Option<i32> {
        self.parameters
            .iter()
            .find(|(k, _)| *k == "snapshot_date")
            .and_then(|(_, v)| crate::dates::parse_iso_date(v))
    }

    /// The findings grouped into incidents (see [`crate::incidents`]); the scan's date bounds
    /// the edit stamps they name. An audit groups its scan's findings with the rest instead.
    pub fn incidents(&self, snapshot: &Snapshot) -> Vec<crate::incidents::Incident> {
        crate::incidents::group(&self.findings, &[(self.date().unwrap_or(0), snapshot)])
    }
}

/// One module's rules: what they find goes to the output.
pub(crate) type RuleCheck<'a> = dyn Fn(&Context<'_>, &mut Output) + Sync + 'a;

/// Checks one snapshot against every record rule.
///
/// `snapshot_date` is the export's date (days since 1970); `calendar` supplies election day,
/// cut-off and ages; `deceased` is a death registry loaded in the canonical layout (its
/// `voter_id` holds the registry's own record number); `rejects` are the snapshot's load
/// rejects (its repeated `voter_id` rows are a rule's input).
pub fn scan(
    snapshot: &Snapshot,
    snapshot_date: i32,
    calendar: Option<&ElectionCalendar>,
    config: &ScanConfig,
    deceased: Option<&Snapshot>,
    rejects: &[Reject],
) -> ScanResult {
    let ctx = Context::new(snapshot, snapshot_date, calendar, config);
    let with_registry = |ctx: &Context<'_>, out: &mut Output| deceased::check(ctx, deceased, out);
    let repeated_ids =
        |ctx: &Context<'_>, out: &mut Output| identity::check_voter_ids(ctx, rejects, out);
    let checks: [&RuleCheck; 10] = [
        &missing::check,
        &ages::check,
        &birth::check,
        &birth::check_overrep,
        &registration::check,
        &identity::check,
        &repeated_ids,
        &names::check,
        &clusters::check,
        &with_registry,
    ];
    // The rules are independent: they run side by side.
    let mut out = Output::default();
    side_by_side(&ctx, &checks, &mut out);
    out.finish(&ctx)
}

/// Runs independent `checks` side by side, and appends their outputs to `out` in their order,
/// as if they had run one after the other.
pub(crate) fn side_by_side(ctx: &Context<'_>, checks: &[&RuleCheck<'_>], out: &mut Output) {
    let outputs: Vec<Output> = checks
        .par_iter()
        .map(|check| {
            let mut out = Output::default();
            check(ctx, &mut out);
            out
        })
        .collect();
    for part in outputs {
        out.append(part);
    }
}

/// The date written in a file name such as `register-2026-10-02.csv`: the last
/// `YYYY-MM-DD` in it that is a real date.
pub fn date_in_file_name(name: &str) -> Option<i32> {
    let b = name.as_bytes();
    (0..b.len().saturating_sub(9))
        .rev()
        .filter_map(|i| name.get(i..i + 10))
        .find_map(crate::dates::parse_iso_date)
}

/// Findings and runs as the rules produce them.
#[derive(Default)]
pub(crate) struct Output {
    findings: Vec<Finding>,
    runs: Vec<RuleRun>,
    parameters: Vec<(&'static str, String)>,
}

impl Output {
    pub(crate) fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    pub(crate) fn run(&mut self, run: RuleRun) {
        self.runs.push(run);
    }

    /// `other`'s findings, runs and parameters after these.
    pub(crate) fn append(&mut self, mut other: Output) {
        self.findings.append(&mut other.findings);
        self.runs.append(&mut other.runs);
        self.parameters.append(&mut other.parameters);
    }

    pub(crate) fn parameter(&mut self, name: &'static str, value: impl ToString) {
        self.parameters.push((name, value.to_string()));
    }

    fn finish(mut self, ctx: &Context<'_>) -> ScanResult {
        self.findings.sort_by(|a, b| {
            (a.rule, &a.scope_value, &a.voter_ids, a.severity).cmp(&(
                b.rule,
                &b.scope_value,
                &b.voter_ids,
                b.severity,
            ))
        });
        self.runs
            .sort_by_key(|r| RULES.iter().position(|&id| id == r.rule));
        let mut parameters = ctx.parameters();
        parameters.append(&mut self.parameters);
        ScanResult {
            findings: self.findings,
            runs: self.runs,
            parameters,
        }
    }
}

/// What every rule needs: the snapshot, record ids and standings, and the resolved dates.
pub(crate) struct Context<'a> {
    pub snap: &'a Snapshot,
    /// The `voter_id` column, read by row ([`Context::id`]) for the few rows findings name: a
    /// vector of every row's id held 160 MB at 10,000,000 voters for the whole scan.
    ids: &'a StringChunked,
    pub standing: Vec<Standing>,
    /// Every row's birth, `None` when the snapshot has neither birth field (three modules'
    /// rules read it).
    pub births: Option<Vec<Birth>>,
    pub snapshot_date: i32,
    /// The reference date for ages.
    pub as_of: i32,
    /// Where `as_of` came from, for evidence.
    pub as_of_source: &'static str,
    pub voting_age: u32,
    pub min_registration_age: u32,
    pub calendar: Option<&'a ElectionCalendar>,
    pub config: &'a ScanConfig,
    /// Of a register read a window at a time, what the rules across records take of the
    /// whole register, these rows being only those they report on ([`windows`]).
    pub whole: Option<&'a windows::Whole>,
}

impl<'a> Context<'a> {
    fn new(
        snap: &'a Snapshot,
        snapshot_date: i32,
        calendar: Option<&'a ElectionCalendar>,
        config: &'a ScanConfig,
    ) -> Context<'a> {
        let (as_of, as_of_source) = match (config.as_of, calendar) {
            (Some(d), _) => (d, "as-of date given"),
            (None, Some(c)) => (c.election_day, "election day (calendar)"),
            (None, None) => (snapshot_date, "snapshot date"),
        };
        let (standing, births) = rayon::join(|| columns::standings(snap), || columns::births(snap));
        Context {
            snap,
            ids: snap.voter_ids(),
            standing,
            births,
            snapshot_date,
            as_of,
            as_of_source,
            voting_age: calendar.map_or(config.voting_age, |c| c.voting_age),
            min_registration_age: calendar
                .and_then(|c| c.pre_registration_age)
                .unwrap_or(config.min_registration_age),
            calendar,
            config,
            whole: None,
        }
    }

    fn parameters(&self) -> Vec<(&'static str, String)> {
        vec![
            ("snapshot_date", IsoDate(self.snapshot_date).to_string()),
            ("as_of", IsoDate(self.as_of).to_string()),
            ("as_of_source", self.as_of_source.to_string()),
            ("voting_age", self.voting_age.to_string()),
            (
                "min_registration_age",
                self.min_registration_age.to_string(),
            ),
            ("max_age", self.config.max_age.to_string()),
        ]
    }

    pub fn rows(&self) -> usize {
        self.snap.rows()
    }

    /// Row `row`'s `voter_id` (empty if missing, which a load does not let through).
    pub fn id(&self, row: usize) -> &'a str {
        self.ids.get(row).unwrap_or_default()
    }

    pub fn has(&self, field: Field) -> bool {
        self.snap.has(field)
    }

    pub fn check(&self, rule: &'static str, needs: &[Field]) -> RuleRun {
        RuleRun::check(rule, |f| self.snap.has(f), needs)
    }

    /// A finding about one record. A removed record cannot vote: its findings are at most
    /// `low`.
    pub fn record(
        &self,
        rule: &'static str,
        severity: Severity,
        row: usize,
        mut evidence: Evidence,
    ) -> Finding {
        let standing = self.standing[row];
        evidence.facts.push(("status", standing.name().to_string()));
        Finding {
            rule,
            severity: if standing == Standing::Removed {
                severity.min(Severity::Low)
            } else {
                severity
            },
            scope: Scope::Record,
            scope_value: self.id(row).to_string(),
            evidence,
            voter_ids: vec![self.id(row).to_string()],
            snapshot_date: Some(self.snapshot_date),
        }
    }

    /// A finding about several records.
    pub fn group(
        &self,
        rule: &'static str,
        severity: Severity,
        scope: Scope,
        scope_value: String,
        rows: &[u32],
        evidence: Evidence,
    ) -> Finding {
        let mut voter_ids: Vec<String> = rows
            .iter()
            .map(|&r| self.id(r as usize).to_string())
            .collect();
        voter_ids.sort_unstable();
        Finding {
            rule,
            severity,
            scope,
            scope_value,
            evidence,
            voter_ids,
            snapshot_date: Some(self.snapshot_date),
        }
    }
}

/// Full years between `birth` and `on` (days since 1970). A 29 February birthday falls on
/// 1 March in common years.
pub(crate) fn age_on(birth: i32, on: i32) -> i32 {
    let (by, bm, bd) = crate::dates::civil_from_days(birth);
    let (y, m, d) = crate::dates::civil_from_days(on);
    y - by - i32::from((m, d) < (bm, bd))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::parse_iso_date;

    #[test]
    fn ages_count_full_years() {
        let d = |s| parse_iso_date(s).unwrap();
        assert_eq!(age_on(d("2008-10-22"), d("2026-10-22")), 18);
        assert_eq!(age_on(d("2008-10-23"), d("2026-10-22")), 17);
        assert_eq!(age_on(d("2008-02-29"), d("2026-02-28")), 17);
        assert_eq!(age_on(d("2008-02-29"), d("2026-03-01")), 18);
        assert_eq!(age_on(d("2030-01-01"), d("2026-03-01")), -4);
    }

    #[test]
    fn file_names_give_their_date() {
        assert_eq!(
            date_in_file_name("register-2026-10-02.csv.gz"),
            parse_iso_date("2026-10-02")
        );
        assert_eq!(date_in_file_name("export.csv"), None);
        assert_eq!(date_in_file_name("2026-13-01.csv"), None);
    }
}
