//! Field comparison and change classification (rules in the module docs of `diff`).

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use super::merge::Merged;
use super::{Change, ChangeKind, DiffConfig, RecordChange, Rekeying};
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
    rekey(&cols, &mut log, &mut records, &config.rekeying);
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
pub(crate) fn identity(snap: &Snapshot, row: usize) -> Option<String> {
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

/// Pairs exits with arrivals of the same identity, one to one: an identity held by two exits
/// or two arrivals pairs nothing, since which of them is the re-keyed one cannot be told.
pub(crate) fn one_to_one<X, Y>(exits: Vec<(String, X)>, arrivals: Vec<(String, Y)>) -> Vec<(X, Y)> {
    fn unique<T>(items: Vec<(String, T)>) -> HashMap<String, Option<T>> {
        let mut map: HashMap<String, Option<T>> = HashMap::with_capacity(items.len());
        for (key, item) in items {
            map.entry(key)
                .and_modify(|slot| *slot = None)
                .or_insert(Some(item));
        }
        map
    }
    let mut arrivals = unique(arrivals);
    if arrivals.is_empty() {
        return Vec::new();
    }
    unique(exits)
        .into_iter()
        .filter_map(|(key, exit)| Some((exit?, arrivals.get_mut(&key)?.take()?)))
        .collect()
}

/// Labels re-keyings: records that left and records that arrived under another id but are the
/// same person. [`Rekeying::Find`] pairs them within this diff by identity; with
/// [`Rekeying::Known`] the pairs were found over the whole register (a streamed diff, whose
/// window may hold only one half of a pair). The log rows of both halves become `rekey`; the
/// arrival's record becomes the pair's one record, and the exit's record goes.
fn rekey(
    cols: &Columns<'_>,
    log: &mut [Change],
    records: &mut Vec<RecordChange>,
    rekeying: &Rekeying,
) {
    let is_exit = |r: &RecordChange| r.old_row.is_some() && r.kinds.contains(&ChangeKind::Removal);
    let is_arrival = |r: &RecordChange| r.old_row.is_none() && r.new_row.is_some();
    // (exit record, arrival record), either half possibly outside this diff.
    let halves: Vec<(Option<usize>, Option<usize>)> = match rekeying {
        Rekeying::Skip => return,
        Rekeying::Find => {
            let keyed = |side: &Snapshot, pick: &dyn Fn(&RecordChange) -> Option<u32>| {
                records
                    .iter()
                    .enumerate()
                    .filter_map(|(k, r)| Some((identity(side, pick(r)? as usize)?, k)))
                    .collect::<Vec<_>>()
            };
            let arrivals = keyed(cols.new, &|r| r.new_row.filter(|_| is_arrival(r)));
            if arrivals.is_empty() {
                return;
            }
            let exits = keyed(cols.old, &|r| r.old_row.filter(|_| is_exit(r)));
            one_to_one(exits, arrivals)
                .into_iter()
                .map(|(e, a)| (Some(e), Some(a)))
                .collect()
        }
        Rekeying::Known(known) => {
            let (old_ids, new_ids) = (cols.old.voter_ids(), cols.new.voter_ids());
            let mut exits: HashMap<&str, usize> = HashMap::new();
            let mut arrivals = Vec::new();
            for (k, r) in records.iter().enumerate() {
                if is_exit(r) {
                    if let Some(id) = r.old_row.and_then(|i| old_ids.get(i as usize)) {
                        if known.is_exit(id) {
                            exits.insert(id, k);
                        }
                    }
                } else if is_arrival(r) {
                    if let Some(id) = r.new_row.and_then(|j| new_ids.get(j as usize)) {
                        if let Some(replaced) = known.replaced(id) {
                            arrivals.push((replaced, k));
                        }
                    }
                }
            }
            let mut halves: Vec<_> = arrivals
                .into_iter()
                .map(|(replaced, a)| (exits.remove(replaced), Some(a)))
                .collect();
            halves.extend(exits.into_values().map(|e| (Some(e), None)));
            halves
        }
    };
    if halves.is_empty() {
        return;
    }
    let relabel: HashSet<(Option<u32>, Option<u32>)> = halves
        .iter()
        .flat_map(|&(e, a)| [e, a])
        .flatten()
        .map(|k| (records[k].old_row, records[k].new_row))
        .collect();
    for c in log.iter_mut() {
        if relabel.contains(&(c.old_row, c.new_row)) {
            c.kind = ChangeKind::Rekey;
        }
    }
    let mut drop = vec![false; records.len()];
    for &(exit, arrival) in &halves {
        if let Some(a) = arrival {
            records[a] = RecordChange {
                old_row: exit.and_then(|e| records[e].old_row),
                new_row: records[a].new_row,
                kinds: vec![ChangeKind::Rekey],
            };
        }
        if let Some(e) = exit {
            drop[e] = true;
        }
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
