//! What the commands print: the library returns data, these functions turn it into the
//! lines a person reads on the terminal. Each returns a string, so a command decides where it
//! goes.

use std::fmt::Write as _;
use std::path::Path;

use polars::prelude::DataFrame;
use rollaudit::findings::Severity;
use rollaudit::load::{LoadReport, Loaded};
use rollaudit::model::{Field, FINGERPRINT_COLUMN, LINE_COLUMN};
use rollaudit::profile::Profile;
use rollaudit::report;

/// Row conservation: every row read is loaded or rejected.
pub fn conservation(report: &LoadReport) -> String {
    format!(
        "rows read {} = loaded {} + rejected {}",
        report.rows_read, report.rows_loaded, report.rows_rejected
    )
}

/// The exact pass in one line.
pub fn exact(e: &rollaudit::dedupe::ExactDuplicates) -> String {
    format!(
        "exact pass: {} groups ({} pairs on name and birth date, {} on national id)",
        e.groups.len(),
        e.name_birth_pairs,
        e.national_id_pairs
    )
}

/// `rollaudit dedupe`: the exact pass, the model's pairs and clusters, the chance estimate.
pub fn dedupe(result: &rollaudit::dedupe::DedupeResult) -> String {
    let c = &result.chance;
    format!(
        "{}\n{} candidate pairs, {} matched pairs in {} clusters\n\
         same name and birth date: {} pairs found, {:.1} expected by coincidence\n",
        exact(&result.exact),
        result.candidates,
        result.matched().count(),
        result.clusters.len(),
        c.found_pairs,
        c.expected_pairs
    ) + &match result.parts {
        1 => String::new(),
        n => format!("candidate pairs compared in {n} parts to stay within the memory limit\n"),
    }
}

/// Findings listed on the terminal after the counts.
const TOP_FINDINGS: usize = 15;

/// The audit on the terminal: loads, changes, finding counts, rules fired, top findings.
pub fn audit_summary(
    result: &rollaudit::audit::AuditResult,
    redactor: Option<&rollaudit::report::redact::Redactor>,
) -> String {
    let mut out = String::new();
    for i in &result.inputs {
        let _ = writeln!(
            out,
            "{} {}: {}",
            rollaudit::dates::IsoDate(i.input.date),
            i.input.path.display(),
            conservation(&i.report)
        );
    }
    for (t, d) in result.diffs.iter().enumerate() {
        let c = &d.counts;
        let _ = writeln!(
            out,
            "changes {} -> {}: added {}, removed {}, modified {}",
            rollaudit::dates::IsoDate(result.inputs[t].input.date),
            rollaudit::dates::IsoDate(result.inputs[t + 1].input.date),
            c.added,
            c.removed,
            c.modified
        );
    }
    let _ = writeln!(
        out,
        "findings: {}; duplicate clusters {}",
        report::incidents::severity_counts_text(result.findings.iter().map(|f| f.severity)),
        result.dedupe.clusters.len()
    );
    // Every rule that fired at medium or above, with its count and worst severity: the
    // one-line answer to "what was found".
    let mut by_rule: std::collections::BTreeMap<&str, (usize, Severity)> = Default::default();
    for f in result
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Medium)
    {
        let e = by_rule.entry(f.rule).or_insert((0, f.severity));
        e.0 += 1;
        e.1 = e.1.max(f.severity);
    }
    if !by_rule.is_empty() {
        let parts: Vec<String> = by_rule
            .iter()
            .map(|(rule, (n, worst))| format!("{rule} {n} (worst {})", worst.name()))
            .collect();
        let _ = writeln!(out, "rules at medium or above: {}", parts.join(", "));
    }
    let shown = report::audit::shown_findings(result, redactor);
    let latest = result.inputs.last().map_or(0, |i| i.input.date);
    out.push_str(&report::incidents::summary(
        &result.incidents,
        &shown,
        latest,
    ));
    let _ = writeln!(out, "findings at medium or above, most severe first:");
    for f in shown
        .iter()
        .filter(|f| f.severity >= Severity::Medium)
        .take(TOP_FINDINGS)
    {
        let _ = writeln!(
            out,
            "  {:<8} {:<20} {:<9} {:<28} {:>6} voters  {}",
            f.severity.name(),
            f.rule,
            f.scope.name(),
            f.scope_value,
            f.voter_ids.len(),
            f.snapshot_date
                .map(|d| rollaudit::dates::IsoDate(d).to_string())
                .unwrap_or_default()
        );
    }
    out
}

/// The diff's counts, schema drift and change kinds.
pub fn diff(
    totals: &rollaudit::diff::DiffResult,
    kinds: &std::collections::BTreeMap<rollaudit::diff::ChangeKind, u64>,
    dir: &Path,
) -> String {
    let mut out = String::new();
    let c = &totals.counts;
    if totals.identical {
        let _ = writeln!(out, "identical: equal digests ({})", totals.old_digest);
    }
    let _ = writeln!(
        out,
        "added {}  removed {}  modified {}  unchanged {}",
        c.added, c.removed, c.modified, c.unchanged
    );
    if !totals.drift.is_empty() {
        let names = |f: &[Field]| f.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ");
        let _ = writeln!(
            out,
            "schema drift: only in old [{}], only in new [{}] (not compared)",
            names(&totals.drift.only_old),
            names(&totals.drift.only_new)
        );
    }
    for (kind, n) in kinds {
        let _ = writeln!(out, "  {:<22} {n}", kind.name());
    }
    let _ = writeln!(out, "wrote {}", dir.display());
    out
}

/// `rollaudit inspect`.
pub fn inspect(loaded: &Loaded, profile: &Profile, file: &Path) -> String {
    let r = &loaded.report;
    let snap = &loaded.snapshot;
    let mut out = String::new();
    let gz = if r.gzipped { ", gzip" } else { "" };
    let _ = writeln!(out, "file     {}", file.display());
    let _ = writeln!(
        out,
        "format   {}{gz}, encoding {}",
        r.format.name(),
        r.encoding
    );
    let _ = writeln!(out, "profile  {} ({})", profile.name, profile.origin);
    let _ = writeln!(out, "{}", conservation(r));
    let _ = writeln!(out, "digest   {}", snap.digest);
    let _ = writeln!(out, "schema   {} canonical fields", snap.fields.len());
    let _ = write!(out, "{}", schema(&snap.df));
    for f in &r.approximate_fields {
        let _ = writeln!(
            out,
            "approx   {} (derived from an age: the year given or the one before)",
            f.name()
        );
    }
    if !r.missing_fields.is_empty() {
        let names: Vec<_> = r.missing_fields.iter().map(|f| f.name()).collect();
        let _ = writeln!(
            out,
            "missing  {} (checks needing them are skipped)",
            names.join(", ")
        );
    }
    if !r.unmapped_columns.is_empty() {
        let _ = writeln!(
            out,
            "unmapped {} source columns: {}",
            r.unmapped_columns.len(),
            abbreviate(&r.unmapped_columns, 12)
        );
    }
    let summary = r.reject_summary();
    if summary.is_empty() {
        let _ = writeln!(out, "rejects  none");
    } else {
        let parts: Vec<String> = summary.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = writeln!(out, "rejects  {}", parts.join(", "));
        for rej in r.rejects.iter().take(5) {
            let _ = writeln!(out, "  line {}: {}", rej.line, rej.reason);
        }
        if r.rejects.len() > 5 {
            let _ = writeln!(out, "  ... {} more", r.rejects.len() - 5);
        }
    }
    out
}

fn schema(df: &DataFrame) -> String {
    let mut out = String::new();
    for c in df.columns() {
        let name = c.name().as_str();
        if name == FINGERPRINT_COLUMN || name == LINE_COLUMN {
            continue;
        }
        let kind = Field::from_name(name).map_or("?", |f| match f.kind() {
            rollaudit::model::FieldKind::Text => "text",
            rollaudit::model::FieldKind::Status => "status",
            rollaudit::model::FieldKind::Date => "date",
            rollaudit::model::FieldKind::Year => "year",
            rollaudit::model::FieldKind::Timestamp => "timestamp",
        });
        let _ = writeln!(out, "  {name:<18} {kind:<9} {:>10} missing", c.null_count());
    }
    out
}

fn abbreviate(items: &[String], max: usize) -> String {
    let shown: Vec<&str> = items.iter().take(max).map(String::as_str).collect();
    let more = items.len().saturating_sub(max);
    if more > 0 {
        format!("{}, ... ({more} more)", shown.join(", "))
    } else {
        shown.join(", ")
    }
}
