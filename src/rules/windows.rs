//! The record rules over an ingested file read a window at a time ([`scan_windows`]): the
//! findings of [`super::scan`] of the whole snapshot, without ever holding it (issue #16). At
//! 100,000,000 voters the coded snapshot alone is about 24 GB.
//!
//! Most rules judge one record at a time; they run on each window as it is read. The rules
//! across records (crowded addresses, shared contacts, repeated national ids, over-represented
//! birth dates, missing fields) judge a record by the whole register. They run in two passes:
//! 1. each window adds its rows' key hashes ([`super::columns::Hashed`], 8 bytes a row and
//!    key), the counts of birth dates and the count of records not removed;
//! 2. with those, the thresholds and the dates reported are known, and so are the rows the
//!    rules report on (the rows of groups at or above a threshold, of the dates reported, and
//!    those lacking a required field). A second pass keeps those records, and the rules run on
//!    them with the whole register's thresholds and counts ([`Whole`]).
//!
//! Every group reported holds all its rows in the second pass, so the rules report the same
//! groups, with the same evidence, as on the whole snapshot (`tests/stream.rs` compares every
//! artefact of an audit so read with one that loads it whole). A death registry's rule is not
//! run this way: its fuzzy links are estimated on the whole register
//! ([`crate::dedupe::link`]), so an audit with a registry loads the latest snapshot whole.

use std::collections::HashMap;
use std::path::Path;

use crate::calendar::ElectionCalendar;
use crate::diff::stream::{each_window, Input};
use crate::load::{LoadError, Reject};
use crate::model::Field;
use crate::snapshot::{Digest, Snapshot};

use super::clusters::{self, Threshold};
use super::columns::Hashed;
use super::{
    birth, identity, missing, side_by_side, Context, Output, RuleCheck, ScanConfig, ScanResult,
};

/// What the rules across records take of a whole register read a window at a time.
pub(crate) struct Whole {
    /// Records not removed (`R-MISSING-FIELD`'s share).
    pub considered: usize,
    /// Every counted birth date with its records, by date (`R-BIRTH-OVERREP`).
    pub birth_dates: Vec<(i32, usize)>,
    /// The thresholds of `R-ADDRESS-CROWDED` and `R-CONTACT-SHARED`'s phone and email, for
    /// the fields the register has.
    pub address: Option<Threshold>,
    pub phone: Option<Threshold>,
    pub email: Option<Threshold>,
}

/// What [`scan_windows`] gives.
pub struct Scanned {
    pub result: ScanResult,
    /// The records the findings name, those of `also` and those the rules across records
    /// reported on, with the whole snapshot's digest.
    pub kept: Snapshot,
    /// The rows of the file `kept` holds, ascending.
    pub rows: Vec<u32>,
}

/// [`super::scan`] of the ingested file at `path`, without a death registry, read
/// `window_rows` rows at a time (twice: see the module documentation). `rejects` are its
/// load's; `also` are rows of the file to keep besides the records the findings name.
pub fn scan_windows(
    path: &Path,
    snapshot_date: i32,
    calendar: Option<&ElectionCalendar>,
    config: &ScanConfig,
    rejects: &[Reject],
    window_rows: usize,
    also: &[u32],
) -> Result<Scanned, LoadError> {
    let fields: Vec<Field> = Field::ALL
        .into_iter()
        .filter(|&f| f != Field::VoterId)
        .collect();
    let each =
        |f: &mut dyn FnMut(&Snapshot)| each_window(Input::CodedFile(path), &fields, window_rows, f);
    let repeated_ids =
        |ctx: &Context<'_>, out: &mut Output| identity::check_voter_ids(ctx, rejects, out);
    // Without a registry the death registry's rule reports only that it did not apply.
    let no_registry = |ctx: &Context<'_>, out: &mut Output| super::deceased::check(ctx, None, out);
    let of_one_record: [&RuleCheck; 6] = [
        &super::ages::check,
        &birth::check,
        &super::registration::check,
        &repeated_ids,
        &super::names::check,
        &no_registry,
    ];
    // The first pass: the rules of one record, and what the others take of every row.
    let mut records = Output::default();
    let mut runs = None;
    let mut marks: Vec<bool> = Vec::new();
    let mut groupings: [Option<Hashed>; 3] = Default::default();
    let mut national_ids: Option<Hashed> = None;
    let mut birth_dates: HashMap<i32, usize> = HashMap::new();
    let (mut considered, mut digest) = (0, Digest::default());
    each(&mut |window| {
        let ctx = Context::new(window, snapshot_date, calendar, config);
        let offset = marks.len();
        marks.resize(offset + window.rows(), false);
        let mut out = Output::default();
        side_by_side(&ctx, &of_one_record, &mut out);
        let named = crate::incidents::Named::of(&out.findings).rows_found(window);
        let not_removed = missing::considered(&ctx);
        let lacking = missing::named_rows(&ctx, &not_removed);
        for row in named.into_iter().chain(lacking).map(|r| r as usize) {
            marks[offset + row] = true;
        }
        records.findings.append(&mut out.findings);
        runs.get_or_insert(out.runs);
        for (all, part) in groupings.iter_mut().zip(clusters::window_hashes(&ctx)) {
            add(all, part);
        }
        add(&mut national_ids, identity::window_hashes(&ctx));
        if let Some(births) = &ctx.births {
            for (d, _) in birth::counted(&ctx, births) {
                *birth_dates.entry(d).or_default() += 1;
            }
        }
        considered += not_removed.len();
        digest = digest.combine(window.digest);
    })?;
    let [address, phone, email] = clusters::thresholds(config, groupings, &mut marks);
    if let Some(ids) = national_ids {
        super::columns::Groups::of(ids).mark_at_least(2, &mut marks);
    }
    for &row in also {
        marks[row as usize] = true;
    }
    let mut birth_dates: Vec<(i32, usize)> = birth_dates.into_iter().collect();
    birth_dates.sort_unstable();
    let reported_dates: Vec<i32> = birth::overrepresented(&birth_dates, &config.overrep)
        .into_iter()
        .map(|o| o.date)
        .collect();
    let whole = Whole {
        considered,
        birth_dates,
        address,
        phone,
        email,
    };
    // The second pass: the records the rules across records report on.
    let (mut parts, mut rows, mut offset) = (Vec::new(), Vec::new(), 0);
    each(&mut |window| {
        if !reported_dates.is_empty() {
            let ctx = Context::new(window, snapshot_date, calendar, config);
            if let Some(births) = &ctx.births {
                for (d, row) in birth::counted(&ctx, births) {
                    if reported_dates.binary_search(&d).is_ok() {
                        marks[offset + row as usize] = true;
                    }
                }
            }
        }
        let local: Vec<u32> = (0..window.rows() as u32)
            .filter(|&r| marks[offset + r as usize])
            .collect();
        rows.extend(local.iter().map(|&r| (offset as u32) + r));
        parts.push(window.subset(&local));
        offset += window.rows();
    })?;
    let kept = crate::diff::stream::kept_parts(path, parts, None, digest)?;
    let mut ctx = Context::new(&kept, snapshot_date, calendar, config);
    ctx.whole = Some(&whole);
    let across: [&RuleCheck; 4] = [
        &missing::check,
        &birth::check_overrep,
        &identity::check,
        &clusters::check,
    ];
    let mut out = Output::default();
    side_by_side(&ctx, &across, &mut out);
    out.findings.append(&mut records.findings);
    match runs {
        Some(runs) => out.runs.extend(runs),
        // A file without rows: the rules of one record ran on no window.
        None => side_by_side(&ctx, &of_one_record, &mut out),
    }
    let result = out.finish(&ctx);
    Ok(Scanned { result, kept, rows })
}

/// `part`'s hashes after those of `all`.
fn add(all: &mut Option<Hashed>, part: Option<Hashed>) {
    match (all.as_mut(), part) {
        (Some(all), Some(part)) => all.append(part),
        (None, part) => *all = part,
        (Some(_), None) => {}
    }
}
