//! Snapshot diff: what changed between two versions of the register, record by record and
//! field by field, and what kind of change each one is.
//!
//! Both snapshots are sorted by `voter_id` with unique ids (a [`Snapshot`] invariant), so the
//! join is a linear merge ([`merge`]). Rows whose fingerprints agree are unchanged without
//! looking at a field; two snapshots with equal digests are identical without a merge at all.
//! Only the fields both sides have are compared, so a column added or dropped between exports
//! is reported once as schema drift, not as a change on every record.
//!
//! # Change taxonomy
//! Each change-log row carries one [`ChangeKind`]; a record's kinds are the set over its rows.
//! The rules, in the order they are applied:
//!
//! | kind | rule |
//! |---|---|
//! | `id_reuse` | same `voter_id`, but the given name changed beyond a correction **and** the birth date (or birth year) changed: another person now holds the id. All of the record's rows get this kind. |
//! | `rekey` | a record that left (dropped, or its status became `removed`) and a new record that agree exactly on given name, family name, birth date (or year) and address line, one to one: the same person under a new id. Rows of both records get this kind. |
//! | `new_registration` | a `voter_id` only in NEW |
//! | `removal` | status became `removed`, or a `voter_id` not removed in OLD is missing from NEW (dropped without a removal); the `status_reason` row carries the reason |
//! | `dropped` | a record already `removed` in OLD is missing from NEW: the export stopped carrying it, which is not a new removal |
//! | `inactivation` | status became `inactive` |
//! | `reactivation` | status went from `removed` or `inactive` to `active` |
//! | `status_change` | any other status transition (e.g. `pending` to `active`) |
//! | `move_within_precinct` | an address field changed and the precinct did not |
//! | `move_out_of_precinct` | an address field and the precinct changed |
//! | `precinct_reassignment` | precinct, district or region changed with no address field changing (redistricting) |
//! | `name_correction` | a name field changed by a small edit (see [`NameRule`]) |
//! | `name_change` | a name field changed by more (marriage, legal change) |
//! | `birth_date_change`, `sex_change`, `party_change` | that field changed |
//! | `contact_change` | phone or email changed |
//! | `audit_trail` | `changed_at` or `changed_by` changed (they accompany every edit; not counted as a change of their own) |
//! | `other_change` | any other field (`national_id`, `registration_date`, `status_reason` alone, ...) |
//!
//! Address fields are `address_line, house_number, street, unit, locality, postcode`.

mod classify;
mod merge;
pub mod stream;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::model::Field;
use crate::snapshot::{Digest, Renumbered, Snapshot};

pub use classify::NameRule;
pub use merge::Merged;

/// The kind of a change (see the module docs for each rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChangeKind {
    NewRegistration,
    Removal,
    Dropped,
    Inactivation,
    Reactivation,
    StatusChange,
    MoveWithinPrecinct,
    MoveOutOfPrecinct,
    PrecinctReassignment,
    NameCorrection,
    NameChange,
    BirthDateChange,
    SexChange,
    PartyChange,
    ContactChange,
    Rekey,
    IdReuse,
    OtherChange,
    AuditTrail,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 19] = [
        ChangeKind::NewRegistration,
        ChangeKind::Removal,
        ChangeKind::Dropped,
        ChangeKind::Inactivation,
        ChangeKind::Reactivation,
        ChangeKind::StatusChange,
        ChangeKind::MoveWithinPrecinct,
        ChangeKind::MoveOutOfPrecinct,
        ChangeKind::PrecinctReassignment,
        ChangeKind::NameCorrection,
        ChangeKind::NameChange,
        ChangeKind::BirthDateChange,
        ChangeKind::SexChange,
        ChangeKind::PartyChange,
        ChangeKind::ContactChange,
        ChangeKind::Rekey,
        ChangeKind::IdReuse,
        ChangeKind::OtherChange,
        ChangeKind::AuditTrail,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            ChangeKind::NewRegistration => "new_registration",
            ChangeKind::Removal => "removal",
            ChangeKind::Dropped => "dropped",
            ChangeKind::Inactivation => "inactivation",
            ChangeKind::Reactivation => "reactivation",
            ChangeKind::StatusChange => "status_change",
            ChangeKind::MoveWithinPrecinct => "move_within_precinct",
            ChangeKind::MoveOutOfPrecinct => "move_out_of_precinct",
            ChangeKind::PrecinctReassignment => "precinct_reassignment",
            ChangeKind::NameCorrection => "name_correction",
            ChangeKind::NameChange => "name_change",
            ChangeKind::BirthDateChange => "birth_date_change",
            ChangeKind::SexChange => "sex_change",
            ChangeKind::PartyChange => "party_change",
            ChangeKind::ContactChange => "contact_change",
            ChangeKind::Rekey => "rekey",
            ChangeKind::IdReuse => "id_reuse",
            ChangeKind::OtherChange => "other_change",
            ChangeKind::AuditTrail => "audit_trail",
        }
    }

    pub fn from_name(name: &str) -> Option<ChangeKind> {
        ChangeKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// Thresholds of the diff.
#[derive(Clone, Debug, Default)]
pub struct DiffConfig {
    pub names: NameRule,
    pub rekeying: Rekeying,
}

/// How re-keyings are found (see `rekey` in the taxonomy).
#[derive(Clone, Debug, Default)]
pub enum Rekeying {
    /// Between the records of this diff (the whole register, in memory).
    #[default]
    Find,
    /// Not at all (the streamed diff's first pass, which collects the candidates).
    Skip,
    /// Pairs found beforehand over the whole register ([`stream`]).
    Known(Arc<RekeyedIds>),
}

/// Re-keyings found over a whole register: each arriving id and the id it replaced.
#[derive(Debug, Default)]
pub struct RekeyedIds {
    replaced: HashMap<String, String>,
    exits: HashSet<String>,
}

impl RekeyedIds {
    /// From arriving id to replaced id.
    pub fn new(replaced: HashMap<String, String>) -> RekeyedIds {
        let exits = replaced.values().cloned().collect();
        RekeyedIds { replaced, exits }
    }

    /// The id `arrival` replaced, if it is the new half of a re-keying.
    pub fn replaced(&self, arrival: &str) -> Option<&str> {
        self.replaced.get(arrival).map(String::as_str)
    }

    /// `id` left as the old half of a re-keying.
    pub fn is_exit(&self, id: &str) -> bool {
        self.exits.contains(id)
    }
}

/// One row of the long-format change log: `field` of the record changed from its value in OLD
/// to its value in NEW. Values are read from the snapshots when the log is written, so the
/// log costs 16 bytes a row in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    /// Row in OLD, `None` for a new record.
    pub old_row: Option<u32>,
    /// Row in NEW, `None` for a dropped record.
    pub new_row: Option<u32>,
    pub field: Field,
    pub kind: ChangeKind,
}

/// A changed record and its kinds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordChange {
    pub old_row: Option<u32>,
    pub new_row: Option<u32>,
    /// Distinct kinds, sorted, `audit_trail` left out.
    pub kinds: Vec<ChangeKind>,
}

/// Counts of records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiffCounts {
    pub old_rows: u64,
    pub new_rows: u64,
    /// Ids only in NEW.
    pub added: u64,
    /// Ids only in OLD.
    pub removed: u64,
    /// Ids in both whose compared fields differ.
    pub modified: u64,
    pub unchanged: u64,
}

/// Fields present on one side only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SchemaDrift {
    pub only_old: Vec<Field>,
    pub only_new: Vec<Field>,
}

impl SchemaDrift {
    pub fn is_empty(&self) -> bool {
        self.only_old.is_empty() && self.only_new.is_empty()
    }
}

/// Everything the diff found. Plain data; `report` writes it.
#[derive(Clone, Debug, Default)]
pub struct DiffResult {
    /// Equal digests: the snapshots hold the same rows; no merge was done.
    pub identical: bool,
    pub old_digest: Digest,
    pub new_digest: Digest,
    pub counts: DiffCounts,
    pub drift: SchemaDrift,
    /// The fields compared (present on both sides).
    pub compared: Vec<Field>,
    /// Long-format change log, ordered by record (merge order) then canonical field order.
    pub log: Vec<Change>,
    /// One entry per changed record (added, removed, modified), in merge order.
    pub records: Vec<RecordChange>,
}

impl DiffResult {
    /// The result without its log and records: what adds up over the parts of a streamed
    /// diff.
    pub fn totals(&self) -> DiffResult {
        DiffResult {
            identical: self.identical,
            old_digest: self.old_digest,
            new_digest: self.new_digest,
            counts: self.counts,
            drift: self.drift.clone(),
            compared: self.compared.clone(),
            log: Vec::new(),
            records: Vec::new(),
        }
    }

    /// The totals of two parts of one diff (windows of the same two snapshots, so with the
    /// same fields compared): counts and digests add up, and the whole is identical when its
    /// digests are equal, as for a diff in one part.
    pub fn plus(self, part: DiffResult) -> DiffResult {
        let (a, b) = (self.counts, part.counts);
        let old_digest = self.old_digest.combine(part.old_digest);
        let new_digest = self.new_digest.combine(part.new_digest);
        DiffResult {
            identical: old_digest == new_digest && self.drift.is_empty(),
            old_digest,
            new_digest,
            counts: DiffCounts {
                old_rows: a.old_rows + b.old_rows,
                new_rows: a.new_rows + b.new_rows,
                added: a.added + b.added,
                removed: a.removed + b.removed,
                modified: a.modified + b.modified,
                unchanged: a.unchanged + b.unchanged,
            },
            log: Vec::new(),
            records: Vec::new(),
            ..self
        }
    }

    /// The rows of OLD and of NEW that the log and the records name, each sorted and distinct.
    pub(crate) fn named_rows(&self) -> (Vec<u32>, Vec<u32>) {
        let sides = self
            .log
            .iter()
            .map(|c| (c.old_row, c.new_row))
            .chain(self.records.iter().map(|r| (r.old_row, r.new_row)));
        let (mut old, mut new) = (Vec::new(), Vec::new());
        for (o, n) in sides {
            old.extend(o);
            new.extend(n);
        }
        for rows in [&mut old, &mut new] {
            rows.sort_unstable();
            rows.dedup();
        }
        (old, new)
    }

    /// Renumbers the rows of OLD (when `old` is given) or NEW into a subset of that snapshot
    /// ([`Snapshot::subset`] of those sorted rows, which must hold every row named).
    pub(crate) fn renumber(&mut self, old: Option<&[u32]>, new: Option<&[u32]>) {
        let (old, new) = (old.map(Renumbered::new), new.map(Renumbered::new));
        let at = |kept: &Option<Renumbered>, row: &mut Option<u32>| {
            if let (Some(kept), Some(r)) = (kept, row.as_mut()) {
                *r = kept.at(*r);
            }
        };
        for c in &mut self.log {
            at(&old, &mut c.old_row);
            at(&new, &mut c.new_row);
        }
        for r in &mut self.records {
            at(&old, &mut r.old_row);
            at(&new, &mut r.new_row);
        }
    }

    /// Records per change kind.
    pub fn kind_counts(&self) -> BTreeMap<ChangeKind, u64> {
        let mut counts = BTreeMap::new();
        for r in &self.records {
            for k in &r.kinds {
                *counts.entry(*k).or_insert(0) += 1;
            }
        }
        counts
    }
}

/// What an audit keeps of an earlier snapshot once the diffs around it are taken: the
/// records that `before` (the diff ending at it, if any) names in NEW and `after` (the diff
/// starting from it) names in OLD, with both diffs' rows renumbered to them. Everything the
/// change detectors and the change log read of the snapshot is then in it (issue #16); what
/// they read of all its records is taken first (`anomalies::prepare`).
pub fn keep_named(
    snapshot: &Snapshot,
    before: Option<&mut DiffResult>,
    after: &mut DiffResult,
) -> Snapshot {
    let mut rows = after.named_rows().0;
    if let Some(before) = before {
        rows.extend(before.named_rows().1);
        rows.sort_unstable();
        rows.dedup();
        before.renumber(None, Some(&rows));
    }
    after.renumber(Some(&rows), None);
    snapshot.subset(&rows)
}

/// A diff taken a window at a time ([`stream`]) with, of its OLD, only the records it names:
/// what an audit keeps of an earlier snapshot that it never holds whole (issue #16). The
/// windows of NEW are its rows in order, and the diff's NEW rows are the whole snapshot's.
/// The result and the kept records are those of [`diff`] and [`keep_named`] on the whole
/// snapshots. [`KeptDiff::keeping_new`] keeps the records it names of NEW as well, for a NEW
/// that is read a window at a time too.
#[derive(Default)]
pub struct KeptDiff {
    totals: Option<DiffResult>,
    log: Vec<Change>,
    records: Vec<RecordChange>,
    /// The kept records of each window of OLD, and how many there are in all.
    kept: Vec<Snapshot>,
    kept_rows: u32,
    /// Rows of NEW in the windows so far.
    new_rows: u32,
    /// With [`KeptDiff::keeping_new`], the records of NEW named: those of each window, and
    /// their rows in the whole of NEW.
    kept_new: Option<(Vec<Snapshot>, Vec<u32>)>,
}

/// What [`KeptDiff::finish`] gives.
pub struct Kept {
    /// The whole diff, its OLD rows renumbered to `old`, its NEW rows the whole snapshot's.
    pub diff: DiffResult,
    /// The records of OLD the diff names.
    pub old: Snapshot,
    /// With [`KeptDiff::keeping_new`], the records of NEW the diff names and their rows in
    /// the whole of NEW (ascending).
    pub new: Option<(Vec<u32>, Snapshot)>,
}

impl KeptDiff {
    /// A diff that keeps the records it names of NEW too.
    pub fn keeping_new() -> KeptDiff {
        KeptDiff {
            kept_new: Some((Vec::new(), Vec::new())),
            ..KeptDiff::default()
        }
    }

    /// Adds the next window's diff, of `old` and `new`.
    pub fn add(&mut self, mut part: DiffResult, old: &Snapshot, new: &Snapshot) {
        let (named, named_new) = part.named_rows();
        if let Some((parts, rows)) = &mut self.kept_new {
            parts.push(new.subset(&named_new));
            rows.extend(named_new.iter().map(|r| r + self.new_rows));
        }
        part.renumber(Some(&named), None);
        let shift = |row: &mut Option<u32>, by: u32| {
            if let Some(r) = row {
                *r += by;
            }
        };
        let (log, records) = (
            std::mem::take(&mut part.log),
            std::mem::take(&mut part.records),
        );
        for mut c in log {
            shift(&mut c.old_row, self.kept_rows);
            shift(&mut c.new_row, self.new_rows);
            self.log.push(c);
        }
        for mut r in records {
            shift(&mut r.old_row, self.kept_rows);
            shift(&mut r.new_row, self.new_rows);
            self.records.push(r);
        }
        self.kept.push(old.subset(&named));
        self.kept_rows += named.len() as u32;
        self.new_rows += new.rows() as u32;
        self.totals = Some(match self.totals.take() {
            None => part,
            Some(totals) => totals.plus(part),
        });
    }

    /// The whole diff and the records kept. `None` when no window was added.
    pub fn finish(self) -> Option<Kept> {
        let mut diff = self.totals?;
        diff.log = self.log;
        diff.records = self.records;
        let new = match self.kept_new {
            Some((parts, rows)) => Some((rows, stacked(parts)?)),
            None => None,
        };
        Some(Kept {
            diff,
            old: stacked(self.kept)?,
            new,
        })
    }
}

/// The parts of one snapshot, one after the other, in one snapshot (`None` without parts).
pub fn stacked(parts: Vec<Snapshot>) -> Option<Snapshot> {
    let mut parts = parts.into_iter();
    let first = parts.next()?;
    let fields = first.fields.clone();
    let mut df = first.df;
    for part in parts {
        df.vstack_mut_owned(part.df)
            .expect("parts of one snapshot have the same columns");
    }
    crate::snapshot::glue_columns(&mut df, |_| true)
        .expect("a column replaced by its own rechunked copy has the frame's height");
    Some(Snapshot::new(df, fields))
}

/// Diffs two snapshots.
pub fn diff(old: &Snapshot, new: &Snapshot, config: &DiffConfig) -> DiffResult {
    let local = |old: &Snapshot, new: &Snapshot, drift: Option<&[Field]>| {
        Ok::<Merged, std::convert::Infallible>(merge::merge(old, new, drift.is_none()))
    };
    match diff_with(old, new, config, local) {
        Ok(result) => result,
        Err(never) => match never {},
    }
}

/// Diffs two snapshots whose keyed join (the [`Merged`] rows) is done by `join`: the linear
/// merge here ([`diff`]), or a distributed engine (`cluster`, issue #20). `join` is given the
/// compared fields when the two sides' fields differ (their stored fingerprints then cover
/// different columns), `None` when fingerprints can be compared; it is not called when the
/// digests show the snapshots identical. It must return every record one side lacks and at
/// least every pair whose compared fields differ; a pair that differs in none of them is
/// classified unchanged, so the result does not depend on whether it was returned (the
/// linear merge returns every pair under drift, the cluster only those whose fingerprints
/// over the compared fields differ).
pub fn diff_with<E>(
    old: &Snapshot,
    new: &Snapshot,
    config: &DiffConfig,
    join: impl FnOnce(&Snapshot, &Snapshot, Option<&[Field]>) -> Result<Merged, E>,
) -> Result<DiffResult, E> {
    let drift = SchemaDrift {
        only_old: old
            .fields
            .iter()
            .copied()
            .filter(|f| !new.has(*f))
            .collect(),
        only_new: new
            .fields
            .iter()
            .copied()
            .filter(|f| !old.has(*f))
            .collect(),
    };
    let compared: Vec<Field> = old.fields.iter().copied().filter(|f| new.has(*f)).collect();
    let mut counts = DiffCounts {
        old_rows: old.rows() as u64,
        new_rows: new.rows() as u64,
        ..DiffCounts::default()
    };
    if old.digest == new.digest && drift.is_empty() {
        counts.unchanged = counts.old_rows;
        return Ok(DiffResult {
            identical: true,
            old_digest: old.digest,
            new_digest: new.digest,
            counts,
            drift,
            compared,
            log: Vec::new(),
            records: Vec::new(),
        });
    }
    let merged = join(old, new, (!drift.is_empty()).then_some(compared.as_slice()))?;
    let classified = classify::classify(old, new, &merged, &compared, config);
    counts.added = merged.added.len() as u64;
    counts.removed = merged.dropped.len() as u64;
    counts.modified = classified.modified;
    counts.unchanged = counts.old_rows - counts.removed - counts.modified;
    Ok(DiffResult {
        identical: false,
        old_digest: old.digest,
        new_digest: new.digest,
        counts,
        drift,
        compared,
        log: classified.log,
        records: classified.records,
    })
}
