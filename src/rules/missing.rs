//! `R-MISSING-FIELD`: required fields with missing values.
//!
//! A record without a name, a birth, an address, a registration date or a status cannot be
//! checked by the other rules, matched against other lists, or verified at the polling
//! station. Missing values are common in real registers (DOMAIN.md: 0.9% to 4.5% of birth
//! dates missing or impossible, by state), so the rule reports one finding per field, not one
//! per record, listing the records.
//!
//! # Threshold
//! Required by default (each satisfied by any one of the listed fields): `given_name`;
//! `family_name`; `birth_date` or `birth_year`; `address_line` or `street`;
//! `registration_date`; `status`. Configurable in [`ScanConfig::required`](super::ScanConfig).
//!
//! Severity `low`; `medium` when more than 5% of the records lack the field
//! ([`ScanConfig::missing_medium_share`](super::ScanConfig)): above the worst state figure
//! in DOMAIN.md (4.5%), a failed export or a broken entry form is more likely than scattered
//! gaps. Removed records are not counted (they are history).
//!
//! A required field the snapshot lacks altogether yields one `info` finding (scope
//! `snapshot`): the load report already lists it, and every rule needing it is skipped.

use crate::findings::{Evidence, RuleRun, Scope, Severity};
use crate::model::Field;

use super::columns::Standing;
use super::{Context, Output};

pub(crate) const RULE: &str = "R-MISSING-FIELD";

pub(crate) fn default_required() -> Vec<Vec<Field>> {
    vec![
        vec![Field::GivenName],
        vec![Field::FamilyName],
        vec![Field::BirthDate, Field::BirthYear],
        vec![Field::AddressLine, Field::Street],
        vec![Field::RegistrationDate],
        vec![Field::Status],
    ]
}

/// The rows the rule counts: those not removed.
pub(crate) fn considered(ctx: &Context<'_>) -> Vec<u32> {
    (0..ctx.rows() as u32)
        .filter(|&r| ctx.standing[r as usize] != Standing::Removed)
        .collect()
}

/// The rows of `considered` without a value in any of `present`, fields the snapshot has.
fn lacking(ctx: &Context<'_>, considered: &[u32], present: &[Field]) -> Vec<u32> {
    let columns: Vec<Vec<bool>> = present.iter().map(|&f| has_value(ctx, f)).collect();
    considered
        .iter()
        .copied()
        .filter(|&r| columns.iter().all(|c| !c[r as usize]))
        .collect()
}

/// The fields of `alternatives` the snapshot has.
fn present(ctx: &Context<'_>, alternatives: &[Field]) -> Vec<Field> {
    alternatives
        .iter()
        .copied()
        .filter(|&f| ctx.has(f))
        .collect()
}

/// Every row the rule names of `considered` ([`considered`]): lacking a required field the
/// snapshot has (a field it lacks altogether names no row).
pub(crate) fn named_rows(ctx: &Context<'_>, considered: &[u32]) -> Vec<u32> {
    let mut rows: Vec<u32> = ctx
        .config
        .required
        .iter()
        .map(|alternatives| present(ctx, alternatives))
        .filter(|present| !present.is_empty())
        .flat_map(|present| lacking(ctx, considered, &present))
        .collect();
    rows.sort_unstable();
    rows.dedup();
    rows
}

pub(crate) fn check(ctx: &Context<'_>, out: &mut Output) {
    out.run(RuleRun::check(RULE, |_| true, &[]));
    // Of a register read a window at a time (`super::windows`), these rows hold every row the
    // rule names, and the count of all those it considers comes with the whole register's.
    let considered = considered(ctx);
    let n_considered = ctx.whole.map_or(considered.len(), |w| w.considered);
    for alternatives in &ctx.config.required {
        let Some(&first) = alternatives.first() else {
            continue;
        };
        let label = alternatives
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(" or ");
        let present = present(ctx, alternatives);
        if present.is_empty() {
            out.push(ctx.group(
                RULE,
                Severity::Info,
                Scope::Snapshot,
                label,
                &[],
                Evidence {
                    observed: 0.0,
                    baseline:
                        "column absent from the snapshot: rules needing it are skipped".into(),
                    facts: vec![("field", first.name().to_string())],
                    ..Evidence::default()
                },
            ));
            continue;
        }
        let rows = lacking(ctx, &considered, &present);
        if rows.is_empty() {
            continue;
        }
        let share = rows.len() as f64 / n_considered.max(1) as f64;
        let severity = if share > ctx.config.missing_medium_share {
            Severity::Medium
        } else {
            Severity::Low
        };
        out.push(ctx.group(
            RULE,
            severity,
            Scope::Snapshot,
            label,
            &rows,
            Evidence {
                observed: rows.len() as f64,
                effect_size: Some(share),
                baseline: format!(
                    "{} records not removed; medium above a {}% share",
                    n_considered,
                    ctx.config.missing_medium_share * 100.0
                ),
                facts: vec![("field", first.name().to_string())],
                ..Evidence::default()
            },
        ));
    }
}

/// Whether each row has a value in `field` (present in the snapshot).
fn has_value(ctx: &Context<'_>, field: Field) -> Vec<bool> {
    let column = ctx
        .snap
        .df
        .column(field.name())
        .expect("the field is present in the snapshot");
    column
        .is_not_null()
        .iter()
        .map(|v| v.unwrap_or(false))
        .collect()
}
