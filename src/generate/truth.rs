//! The ground truth written beside a generated series, `truth.json`: what was planted, where,
//! and which benign look-alikes exist, so that any detector can be scored against it.
//!
//! # Format
//!
//! One JSON object, pretty-printed, keys in the order below (maps sorted by key), so that
//! the same arguments give the same bytes. Dates are `YYYY-MM-DD`; voter ids are exactly as
//! in the register files.
//!
//! - `schema_version` (integer, currently 1): bumped on any incompatible change.
//! - `generator`: the configuration: `seed`, `voters` (initial population), `snapshots`,
//!   `interval_days`, `start` (first snapshot date), `anomalies` (the `--anomalies` value as
//!   canonical text), `format`.
//! - `snapshots`: `[{index, date, file, rows}]`, one per register file, in date order.
//! - `calendar`: `election_day`, `roll_freeze`, `registration_cutoff`, `quiet_period_start`
//!   (the same dates as `election.toml`; quiet period = `quiet_period_start..election_day`).
//! - `geography`: counts of `regions`, `districts`, `precincts`.
//! - `intervals`: `[{from, to, churn}]` per pair of consecutive snapshots; `churn` maps a
//!   routine change kind to the number of records it affected: `deaths`, `moves_out`,
//!   `moves_within_precinct`, `moves_between_precincts`, `new_registrations`,
//!   `new_registrations_first_time` (of which just of age), `marriages`, `party_switches`,
//!   `typo_corrections`, `inactivations`, `reactivations`, `voter_requests`,
//!   `felony_removals`, `birth_date_corrections`, `coming_of_age` (pending to active),
//!   `dropped_removed_records` (removed rows no longer exported). Routine churn is *not*
//!   listed record by record: it is the background a detector must not flag.
//! - `events`: every planted event, benign or not:
//!   `{id, kind, benign, snapshot_from, snapshot_to, scope, scope_value, magnitude, count,
//!   voter_ids, details}`. `kind` is an [`AnomalyKind`](super::AnomalyKind) name or one of the
//!   benign mass events `list-maintenance` and `redistricting`. The change happened between
//!   `snapshot_from` and `snapshot_to` (`snapshot_from` is `null` when the records are
//!   already in the first snapshot). `scope` is `precinct`, `district`, `address`,
//!   `operator`, `phone`, `email` or `register`, and `scope_value` names it as it appears in
//!   `snapshot_to` (a precinct or district code, an `address_line` with its precinct, an
//!   operator account...). `magnitude` is the requested magnitude, `count` the number of
//!   records affected, and `voter_ids` lists them as they appear in `snapshot_to` (removed
//!   records are still exported with status `removed`). `details` holds kind-specific facts,
//!   e.g. `party` for a skewed purge, `in_quiet_period`, `operator`, `previous_voter_ids`
//!   (rekey: the old ids, present in `snapshot_from` only), `precinct_codes` (redistricting:
//!   old code to new code), `problems` (implausible records: voter id to problem).
//! - `duplicates`: every planted duplicate pair `{original_voter_id, duplicate_voter_id,
//!   snapshot, corruptions, same_address}`: `snapshot` is the first date the duplicate
//!   appears; `corruptions` lists how the duplicate differs from the original, from
//!   `typo_given_name`, `typo_family_name`, `ocr_given_name`, `ocr_family_name`,
//!   `phonetic_given_name`, `phonetic_family_name`, `nickname`, `swapped_names`,
//!   `day_month_transposed`, `missing_birth_date`, `missing_middle_name`,
//!   `missing_national_id`, `moved` (a different address).
//! - `look_alikes`: real, distinct people a deduplicator must not merge: `twins` (pairs with
//!   one birth date and one address), `junior_senior` (pairs with one name and address,
//!   suffixes JR and SR) and `large_residences` (care homes and dormitories holding many
//!   legitimate registrations: `{address_line, precinct, kind, voters}`), all as of the
//!   first snapshot.
//! - `not_planted`: `[{kind, why}]`, selected kinds the series could not hold (e.g. an
//!   interval anomaly when there is only one snapshot).
//!
//! ## Example
//!
//! ```json
//! {
//!   "schema_version": 1,
//!   "generator": { "seed": 42, "voters": 20000, "snapshots": 4, "interval_days": 90,
//!                  "start": "2026-01-05", "anomalies": "default", "format": "csv.gz" },
//!   "events": [
//!     { "id": "E003", "kind": "targeted-purge", "benign": false,
//!       "snapshot_from": "2026-01-05", "snapshot_to": "2026-04-05",
//!       "scope": "precinct", "scope_value": "D004-03", "magnitude": 0.6, "count": 412,
//!       "voter_ids": ["V000000017", "..."], "details": { "operator": "OP004B" } }
//!   ],
//!   "duplicates": [
//!     { "original_voter_id": "V000001234", "duplicate_voter_id": "V000019901",
//!       "snapshot": "2026-01-05", "corruptions": ["nickname", "missing_national_id"],
//!       "same_address": true }
//!   ]
//! }
//! ```
//!
//! ## Scoring
//!
//! A detector's finding matches an event when it names the same kind of irregularity in the
//! same snapshot pair and scope; record-level precision and recall use `voter_ids`. A
//! deduplicator's pairs are scored against `duplicates` (unordered pairs); pairs from
//! `look_alikes` and pairs not in `duplicates` are false positives.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Serialize)]
pub(crate) struct Truth {
    pub schema_version: u32,
    pub generator: GeneratorInfo,
    pub snapshots: Vec<SnapshotInfo>,
    pub calendar: CalendarInfo,
    pub geography: GeographyInfo,
    pub intervals: Vec<IntervalInfo>,
    pub events: Vec<Event>,
    pub duplicates: Vec<Duplicate>,
    pub look_alikes: LookAlikes,
    pub not_planted: Vec<NotPlanted>,
}

/// The current `schema_version`.
pub(crate) const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub(crate) struct GeneratorInfo {
    pub seed: u64,
    pub voters: usize,
    pub snapshots: usize,
    pub interval_days: u32,
    pub start: String,
    pub anomalies: String,
    pub format: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct SnapshotInfo {
    pub index: usize,
    pub date: String,
    pub file: String,
    pub rows: usize,
}

#[derive(Debug, Serialize)]
pub(crate) struct CalendarInfo {
    pub election_day: String,
    pub roll_freeze: String,
    pub registration_cutoff: String,
    pub quiet_period_start: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct GeographyInfo {
    pub regions: usize,
    pub districts: usize,
    pub precincts: usize,
}

#[derive(Debug, Serialize)]
pub(crate) struct IntervalInfo {
    pub from: String,
    pub to: String,
    pub churn: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Event {
    pub id: String,
    pub kind: String,
    pub benign: bool,
    pub snapshot_from: Option<String>,
    pub snapshot_to: String,
    pub scope: &'static str,
    pub scope_value: String,
    pub magnitude: f64,
    pub count: usize,
    pub voter_ids: Vec<String>,
    pub details: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Duplicate {
    pub original_voter_id: String,
    pub duplicate_voter_id: String,
    pub snapshot: String,
    pub corruptions: Vec<&'static str>,
    pub same_address: bool,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct LookAlikes {
    pub twins: Vec<[String; 2]>,
    pub junior_senior: Vec<JuniorSenior>,
    pub large_residences: Vec<LargeResidence>,
}

#[derive(Debug, Serialize)]
pub(crate) struct JuniorSenior {
    pub junior: String,
    pub senior: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct LargeResidence {
    pub address_line: String,
    pub precinct: String,
    pub kind: &'static str,
    pub voters: usize,
}

#[derive(Debug, Serialize)]
pub(crate) struct NotPlanted {
    pub kind: String,
    pub why: &'static str,
}

/// A voter id as the register files print it: `V` and nine digits.
pub(crate) fn voter_id(id: u32) -> String {
    format!("V{id:09}")
}
