//! Field comparison and change classification (rules in the module docs of `diff`).

use std::collections::HashMap;

use rayon::prelude::*;

use super::merge::Merged;
use super::{Change, ChangeKind, DiffConfig, RecordChange};
use crate::model::Field;
use crate::snapshot::{FieldColumn, Snapshot};

/// When a name edit is a correction rather than a change of name.
///
/// A typo fix (`JONH` -> `JOHN`, `SMITH` -> `SMYTH`) is one or two keystrokes; a marriage or a
/// legal change replaces the name. One edit is always a correction (Jaro-Winkler punishes one
/// keystroke in a two-letter name: `LI` -> `LU` scores 0.70); two edits need the similarity
/// too. Both tests run on upper-cased names.
#[derive(Clone, Debug)]
pub struct NameRule {
    /// At most this many Damerau-Levenshtein edits (transpositions count once). Two covers a
    /// double typo or a transposition plus a typo; three would call `LEE` -> `LI` + 1 a typo.
    pub max_edits: usize,
    /// And Jaro-Winkler similarity at least this. 0.85 keeps short names honest: `ANN` ->
    /// `ANNE` (0.94) is a correction, `LEE` -> `LI` (0.70) is not, though only two edits apart.
    pub min_jaro_winkler: f64,
}

impl Default for NameRule {
    fn default() -> Self {
        NameRule {
            max_edits: 2,
            min_jaro_winkler: 0.85,
        }
    }
}

impl NameRule {
    pub fn is_correction(&self, a: &str, b: &str) -> bool {
        let (a, b) = (a.to_uppercase(), b.to_uppercase());
        let edits = strsim::damerau_levenshtein(&a, &b);
        edits <= 1
            || (edits <= self.max_edits && strsim::jaro_winkler(&a, &b) >= self.min_jaro_winkler)
    }
}

const ADDRESS_FIELDS: [Field; 6] = [
    Field::AddressLine,
    Field::HouseNumber,
    Field::Street,
    Field::Unit,
    Field::Locality,
    Field::Postcode,
];
const GEOGRAPHY_FIELDS: [Field; 3] = [Field::Precinct, Field::District, Field::Region];
const NAME_FIELDS: [Field; 4] = [
    Field::GivenName,
    Field::MiddleName,
    Field::FamilyName,
    Field::NameSuffix,
];

/// Pairs per parallel task.
const CHUNK: usize = 8_192;

/// Typed columns of the compared fields on both sides, resolved once.
struct Columns<'a> {
    compared: Vec<(Field, FieldColumn<'a>, FieldColumn<'a>)>,
    old: &'a Snapshot,
    new: &'a Snapshot,
}

impl Columns<'_> {
    fn get(&self, field: Field) -> Option<(&FieldColumn<'_>, &FieldColumn<'_>)> {
        self.compared
            .iter()
            .find(|(f, _, _)| *f == field)
            .map(|(_, a, b)| (a, b))
    }
}

pub(crate) fn classify(
    old: &Snapshot,
    new: &Snapshot,
    merged: &Merged,
    compared: &[Field],
    config: &DiffConfig,
) -> Classified {
    let cols = Columns {
        compared: compared
            .iter()
            .filter(|f| **f != Field::VoterId)
            .filter_map(|&f| Some((f, old.column(f)?, new.column(f)?)))
            .collect(),
        old,
        new,
    };
    let parts: Vec<(Vec<Change>, Vec<RecordChange>)> = merged
        .pairs
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut log = Vec::new();
            let mut records = Vec::new();
            for &pair in chunk {
                if let Some(record) = classify_pair(pair, &cols, config, &mut log) {
                    records.push(record);
                }
            }
            (log, records)
        })
        .collect();
    let mut log = Vec::with_capacity(parts.iter().map(|p| p.0.len()).sum());
    let mut records = Vec::with_capacity(parts.iter().map(|p| p.1.len()).sum());
    for (l, r) in parts {
        log.extend(l);
        records.extend(r);
    }
    let modified = records
        .iter()
        .filter(|r| r.old_row.is_some() && r.new_row.is_some())
        .count() as u64;
    rekey(&cols, &mut log, &mut records);
    Classified {
        log,
        records,
        modified,
    }
}

/// The classified changes of a merge.
pub(crate) struct Classified {
    pub log: Vec<Change>,
    pub records: Vec<RecordChange>,
    /// Records present on both sides whose compared fields differ (counted before re-keyed
    /// pairs are joined into one record).
    pub modified: u64,
}

fn classify_pair(
    pair: (Option<u32>, Option<u32>),
    cols: &Columns<'_>,
    config: &DiffConfig,
    log: &mut Vec<Change>,
) -> Option<RecordChange> {
    let change = |field, kind| Change {
        old_row: pair.0,
        new_row: pair.1,
        field,
        kind,
    };
    match pair {
        (Some(i), None) => {
            let was_removed = cols
                .old
                .column(Field::Status)
                .and_then(|c| c.str(i as usize))
                == Some("removed");
            let kind = if was_removed {
                ChangeKind::Dropped
            } else {
                ChangeKind::Removal
            };
            log.push(change(Field::VoterId, kind));
            Some(record(pair, vec![kind]))
        }
        (None, Some(j)) => {
            for field in &cols.new.fields {
                let present = cols
                    .new
                    .column(*field)
                    .is_some_and(|c| c.text(j as usize).is_some());
                if present {
                    log.push(change(*field, ChangeKind::NewRegistration));
                }
            }
            Some(record(pair, vec![ChangeKind::NewRegistration]))
        }
        (Some(i), Some(j)) => {
            let (i, j) = (i as usize, j as usize);
            let changed: Vec<Field> = cols
                .compared
                .iter()
                .filter(|(_, a, b)| !a.same(i, b, j))
                .map(|(f, _, _)| *f)
                .collect();
            if changed.is_empty() {
                return None;
            }
            let kinds_by_field = field_kinds(&changed, cols, i, j, config);
            let start = log.len();
            for (field, kind) in changed.iter().zip(&kinds_by_field) {
                log.push(change(*field, *kind));
            }
            let mut kinds: Vec<ChangeKind> = log[start..]
                .iter()
                .map(|c| c.kind)
                .filter(|k| *k != ChangeKind::AuditTrail)
                .collect();
            kinds.sort();
            kinds.dedup();
            if kinds.is_empty() {
                kinds.push(ChangeKind::AuditTrail);
            }
            Some(record(pair, kinds))
        }
        (None, None) => None,
    }
}

fn record(pair: (Option<u32>, Option<u32>), kinds: Vec<ChangeKind>) -> RecordChange {
    RecordChange {
        old_row: pair.0,
        new_row: pair.1,
        kinds,
    }
}

/// The kind of each changed field of one record present on both sides.
fn field_kinds(
    changed: &[Field],
    cols: &Columns<'_>,
    i: usize,
    j: usize,
    config: &DiffConfig,
) -> Vec<ChangeKind> {
    let text = |f: Field| cols.get(f).map(|(a, b)| (a.str(i), b.str(j)));
    let differs = |f: Field| changed.contains(&f);

    let given = text(Field::GivenName);
    let given_replaced =
        matches!(given, Some((Some(a), Some(b))) if a != b && !config.names.is_correction(a, b));
    let birth_changed = [Field::BirthDate, Field::BirthYear].iter().any(|&f| {
        differs(f)
            && cols
                .get(f)
                .is_some_and(|(a, b)| a.day(i).is_some() && b.day(j).is_some())
    });
    if given_replaced && birth_changed {
        return vec![ChangeKind::IdReuse; changed.len()];
    }

    let address_changed = ADDRESS_FIELDS.iter().any(|f| differs(*f));
    let move_kind = if differs(Field::Precinct) {
        ChangeKind::MoveOutOfPrecinct
    } else {
        ChangeKind::MoveWithinPrecinct
    };
    let status_kind = match text(Field::Status) {
        Some((old, Some(new))) if old != Some(new) => Some(status_transition(old, new)),
        _ => None,
    };
    changed
        .iter()
        .map(|&field| match field {
            f if ADDRESS_FIELDS.contains(&f) => move_kind,
            f if GEOGRAPHY_FIELDS.contains(&f) => {
                if address_changed {
                    move_kind
                } else {
                    ChangeKind::PrecinctReassignment
                }
            }
            f if NAME_FIELDS.contains(&f) => match text(f) {
                Some((Some(a), Some(b))) if config.names.is_correction(a, b) => {
                    ChangeKind::NameCorrection
                }
                _ => ChangeKind::NameChange,
            },
            Field::Status => status_kind.unwrap_or(ChangeKind::StatusChange),
            Field::StatusReason => status_kind.unwrap_or(ChangeKind::OtherChange),
            Field::BirthDate | Field::BirthYear => ChangeKind::BirthDateChange,
            Field::Sex => ChangeKind::SexChange,
            Field::Party => ChangeKind::PartyChange,
            Field::Phone | Field::Email => ChangeKind::ContactChange,
            Field::ChangedAt | Field::ChangedBy => ChangeKind::AuditTrail,
            _ => ChangeKind::OtherChange,
        })
        .collect()
}

fn status_transition(old: Option<&str>, new: &str) -> ChangeKind {
    match (old, new) {
        (_, "removed") => ChangeKind::Removal,
        (Some("active") | Some("pending") | None, "inactive") => ChangeKind::Inactivation,
        (Some("removed") | Some("inactive"), "active") => ChangeKind::Reactivation,
        _ => ChangeKind::StatusChange,
    }
}

/// The identity a re-keyed record keeps: upper-cased given and family name, birth date (or
/// year) and address line, all present.
fn identity(snap: &Snapshot, row: usize) -> Option<String> {
    let text = |f| {
        snap.column(f)
            .and_then(|c| c.text(row))
            .map(|s| s.to_uppercase())
    };
    let birth = text(Field::BirthDate).or_else(|| text(Field::BirthYear))?;
    Some(format!(
        "{}\u{1f}{}\u{1f}{birth}\u{1f}{}",
        text(Field::GivenName)?,
        text(Field::FamilyName)?,
        text(Field::AddressLine)?
    ))
}

/// Pairs records that left with records that arrived under another id but the same identity,
/// one to one, and relabels both as one re-keying.
fn rekey(cols: &Columns<'_>, log: &mut [Change], records: &mut Vec<RecordChange>) {
    let mut arrivals: HashMap<String, Option<usize>> = HashMap::new();
    for (k, r) in records.iter().enumerate() {
        if let (None, Some(j)) = (r.old_row, r.new_row) {
            if let Some(id) = identity(cols.new, j as usize) {
                arrivals
                    .entry(id)
                    .and_modify(|slot| *slot = None)
                    .or_insert(Some(k));
            }
        }
    }
    if arrivals.is_empty() {
        return;
    }
    let mut exits: HashMap<String, Option<usize>> = HashMap::new();
    for (k, r) in records.iter().enumerate() {
        // Records that left in this interval; an already-removed record that is merely no
        // longer exported (`dropped`) did not.
        let left = r.old_row.is_some() && r.kinds.contains(&ChangeKind::Removal);
        if let (true, Some(i)) = (left, r.old_row) {
            if let Some(id) = identity(cols.old, i as usize) {
                exits
                    .entry(id)
                    .and_modify(|slot| *slot = None)
                    .or_insert(Some(k));
            }
        }
    }
    let mut merged_into: Vec<(usize, usize)> = Vec::new();
    for (id, exit) in &exits {
        if let (Some(exit), Some(Some(arrival))) = (exit, arrivals.get(id)) {
            merged_into.push((*exit, *arrival));
        }
    }
    if merged_into.is_empty() {
        return;
    }
    let relabel: HashMap<(Option<u32>, Option<u32>), ()> = merged_into
        .iter()
        .flat_map(|&(e, a)| {
            [
                ((records[e].old_row, records[e].new_row), ()),
                ((records[a].old_row, records[a].new_row), ()),
            ]
        })
        .collect();
    for c in log.iter_mut() {
        if relabel.contains_key(&(c.old_row, c.new_row)) {
            c.kind = ChangeKind::Rekey;
        }
    }
    let mut drop = vec![false; records.len()];
    for &(exit, arrival) in &merged_into {
        records[arrival] = RecordChange {
            old_row: records[exit].old_row,
            new_row: records[arrival].new_row,
            kinds: vec![ChangeKind::Rekey],
        };
        drop[exit] = true;
    }
    let mut k = 0;
    records.retain(|_| {
        k += 1;
        !drop[k - 1]
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rule_separates_typos_from_new_names() {
        let rule = NameRule::default();
        for (a, b) in [
            ("JONH", "JOHN"),
            ("Smith", "SMYTH"),
            ("ANN", "ANNE"),
            ("Katherine", "Kathrine"),
        ] {
            assert!(rule.is_correction(a, b), "{a} -> {b}");
        }
        for (a, b) in [("SMITH", "GARCIA"), ("LEE", "LI"), ("ANNA", "MARIA")] {
            assert!(!rule.is_correction(a, b), "{a} -> {b}");
        }
    }

    #[test]
    fn status_transitions() {
        assert_eq!(
            status_transition(Some("active"), "removed"),
            ChangeKind::Removal
        );
        assert_eq!(
            status_transition(Some("active"), "inactive"),
            ChangeKind::Inactivation
        );
        assert_eq!(
            status_transition(Some("removed"), "active"),
            ChangeKind::Reactivation
        );
        assert_eq!(
            status_transition(Some("inactive"), "active"),
            ChangeKind::Reactivation
        );
        assert_eq!(
            status_transition(Some("pending"), "active"),
            ChangeKind::StatusChange
        );
    }
}
