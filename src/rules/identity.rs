//! `R-ID-REPEATED`: one `national_id` on several records.
//!
//! A national id belongs to one person, so two records carrying it are one person registered
//! twice (a duplicate that may vote twice) or an id typed onto the wrong record. Either way a
//! human must decide which record stands. Ids are compared after removing spaces, dashes,
//! dots and slashes and upper-casing. An id made of one repeated character (`000000000`,
//! `999999999`) is a placeholder, not an identity: reported `low`, once per value.
//!
//! Severity by what the records could still do: `high` when two or more of them can vote
//! (active or without status: a double vote is possible); `medium` when two or more are not
//! removed (inactive or pending ones can be reactivated); `info` when at most one is (the
//! others were already removed, typically as duplicates: the register was cleaned).
//!
//! The scope is the record with the smallest voter id of the group and the finding lists
//! every record; the national id itself is not repeated in the finding (it is confidential
//! in many jurisdictions, DOMAIN.md "Privacy and trust").
//!
//! # `R-VOTER-ID-REPEATED`
//! One `voter_id` on several rows of the export. The loader keeps the first row and rejects
//! the others with the line of the first (`RejectReason::DuplicateVoterId`), so the snapshot,
//! and the keyed diff, hold one record per id. But a repeat is itself a finding: two
//! registrations merged under one id (North Carolina's VR snapshots keep both rows of a merged
//! pair), or an export fault that put two people under one key, and the rows after the first
//! are neither scanned nor diffed. So each kept record with repeats is reported, `medium`,
//! with its line and the lines of its repeats; a human must see which row is the voter.
//! From an ingested file the repeats were rejected at ingest, and its rejects file lists
//! them.

use std::collections::BTreeMap;

use crate::findings::{Evidence, RuleRun, RuleStatus, Scope, Severity};
use crate::load::{Reject, RejectReason};
use crate::model::Field;

use super::columns::{Groups, Hashed, Standing};
use super::{Context, Output};
use crate::snapshot::FieldColumn;

pub(crate) const RULE: &str = "R-ID-REPEATED";
pub(crate) const VOTER_ID: &str = "R-VOTER-ID-REPEATED";

/// `R-VOTER-ID-REPEATED` from the snapshot's own load rejects (see the module docs).
pub(crate) fn check_voter_ids(ctx: &Context<'_>, rejects: &[Reject], out: &mut Output) {
    out.run(RuleRun {
        rule: VOTER_ID,
        status: RuleStatus::Ran,
    });
    let mut repeats: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for r in rejects {
        if let RejectReason::DuplicateVoterId { first_line } = r.reason {
            repeats.entry(first_line).or_default().push(r.line);
        }
    }
    if repeats.is_empty() {
        return;
    }
    let rows: BTreeMap<u64, usize> = ctx
        .snap
        .lines()
        .iter()
        .enumerate()
        .filter(|(_, line)| repeats.contains_key(line))
        .map(|(row, &line)| (line, row))
        .collect();
    for (first_line, lines) in repeats {
        let Some(&row) = rows.get(&first_line) else {
            continue;
        };
        let lines: Vec<String> = lines.iter().map(u64::to_string).collect();
        out.push(ctx.record(
            VOTER_ID,
            Severity::Medium,
            row,
            Evidence {
                observed: (lines.len() + 1) as f64,
                expected: Some(1.0),
                baseline: "one row per voter_id; the rows after the first were rejected".into(),
                facts: vec![
                    ("line", first_line.to_string()),
                    ("repeated_at_lines", lines.join(" ")),
                ],
                ..Evidence::default()
            },
        ));
    }
}

pub(crate) fn check(ctx: &Context<'_>, out: &mut Output) {
    out.run(ctx.check(RULE, &[Field::NationalId]));
    let Some(ids) = ctx.snap.column(Field::NationalId) else {
        return;
    };
    let key = id_key(ids);
    let groups = Groups::of(Hashed::new(ctx.rows(), &key, |_| true, |_| false));
    for (key, rows) in groups.at_least(2, &key) {
        let (key, rows) = (key.as_str(), &rows[..]);
        let count = |pred: fn(Standing) -> bool| {
            rows.iter()
                .filter(|&&r| pred(ctx.standing[r as usize]))
                .count()
        };
        let voting = count(Standing::votes);
        let standing = count(|s| s != Standing::Removed);
        let placeholder = key.chars().all(|c| key.starts_with(c));
        let severity = if placeholder {
            Severity::Low
        } else if voting >= 2 {
            Severity::High
        } else if standing >= 2 {
            Severity::Medium
        } else {
            Severity::Info
        };
        let first = rows
            .iter()
            .map(|&r| ctx.id(r as usize))
            .min()
            .unwrap_or_default()
            .to_string();
        let mut facts = vec![
            ("records_voting", voting.to_string()),
            ("records_not_removed", standing.to_string()),
        ];
        if placeholder {
            facts.push(("placeholder", "one repeated character".to_string()));
        }
        out.push(ctx.group(
            RULE,
            severity,
            Scope::Record,
            first,
            rows,
            Evidence {
                observed: rows.len() as f64,
                expected: Some(1.0),
                baseline: "one record per national id".into(),
                facts,
                ..Evidence::default()
            },
        ));
    }
}

/// A record's key: its national id as compared ([`push_normalised_id`]).
fn id_key(ids: FieldColumn<'_>) -> impl Fn(usize, &mut String) -> bool + Sync + '_ {
    move |row: usize, buf: &mut String| {
        ids.str(row).is_some_and(|id| {
            push_normalised_id(id, buf);
            true
        })
    }
}

/// What a window adds to the grouping by national id of a register read a window at a time
/// (`super::windows`): its rows' hashes, `None` without the field. Every group of two or more
/// rows is reported.
pub(crate) fn window_hashes(ctx: &Context<'_>) -> Option<Hashed> {
    let ids = ctx.snap.column(Field::NationalId)?;
    Some(Hashed::new(ctx.rows(), &id_key(ids), |_| true, |_| false))
}

/// Writes an id as compared into the empty `key`: without spaces, dashes, dots and slashes,
/// upper case.
fn push_normalised_id(id: &str, key: &mut String) {
    key.extend(id.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '/')));
    if key.is_ascii() {
        key.make_ascii_uppercase();
    } else {
        *key = key.chars().flat_map(char::to_uppercase).collect();
    }
}
