//! `index.html`: the audit for people, in one self-contained file.
//!
//! Inline CSS and SVG only: no script, font or image is fetched, because auditors work offline
//! and air-gapped. Every string that came from the register or the command line goes through
//! [`escape`] (a voter named `<img src=x onerror=alert(1)>` shows as text). Drill-down uses
//! `<details>`, which needs no script.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::findings::{detail, finding_id};
use super::RunInfo;
use crate::anomalies::Series;
use crate::audit::AuditResult;
use crate::dates::{IsoDate, MS_PER_DAY};
use crate::diff::ChangeKind;
use crate::findings::{Finding, RuleStatus, Scope, Severity};
use crate::model::Field;
use crate::snapshot::FieldColumn;

/// HTML-escapes text for element content and quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const CSS: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1d2433;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:16px}
h1{font-size:1.5rem;margin:.2em 0}h2{font-size:1.15rem;margin-top:1.6em;border-bottom:1px solid #d7dbe2;padding-bottom:.2em}
.meta{color:#5a6272;font-size:.9rem}
.cards{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0}
.card{background:#fff;border:1px solid #d7dbe2;border-radius:6px;padding:8px 12px;min-width:90px}
.card b{display:block;font-size:1.4rem}
.sev-critical{background:#7a0019;color:#fff}.sev-high{background:#c62828;color:#fff}.sev-medium{background:#ef8f00;color:#111}
.sev-low{background:#f5d96b;color:#111}.sev-info{background:#dfe6ee;color:#111}
.tag{display:inline-block;border-radius:4px;padding:1px 6px;font-size:.8rem;font-weight:600}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.88rem}
th,td{border-bottom:1px solid #e4e7ec;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#eef1f5}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto}
details{background:#fff;border:1px solid #e4e7ec;border-radius:4px;margin:4px 0;padding:4px 8px}
summary{cursor:pointer}
.ids{font-family:ui-monospace,monospace;font-size:.8rem;word-break:break-all}
svg{background:#fff;border:1px solid #e4e7ec;border-radius:4px;max-width:100%;height:auto}
.verdict{font-size:1.05rem;padding:10px;border-radius:6px;background:#fff;border-left:6px solid #c62828}
.verdict.ok{border-left-color:#2e7d32}
td.fid{white-space:nowrap;font-family:ui-monospace,monospace;font-size:.8rem}
@media (max-width:700px){
 table.findings,table.findings tbody,table.findings tr,table.findings td{display:block;width:auto}
 table.findings tr:first-child{display:none}
 table.findings tr{border-bottom:2px solid #d7dbe2;padding:4px 0}
 table.findings td{border:none;padding:2px 4px}
 table.findings td.num::before{content:'voters: '}
 table.findings td.num{text-align:left}
}
";

/// Renders the whole page.
pub fn render(result: &AuditResult, findings: &[Finding], run: &RunInfo<'_>) -> String {
    let mut h = String::new();
    let latest = result.inputs.last().expect("an audit has a snapshot");
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>rollaudit report {}</title><style>{CSS}</style></head><body><main>",
        IsoDate(latest.input.date)
    );
    summary(&mut h, result, findings, run);
    findings_section(&mut h, findings);
    charts(&mut h, result, findings);
    runs_section(&mut h, result);
    provenance(&mut h, result, run);
    h.push_str("</main></body></html>\n");
    h
}

fn severity_tag(s: Severity) -> String {
    format!("<span class=\"tag sev-{0}\">{0}</span>", s.name())
}

fn summary(h: &mut String, result: &AuditResult, findings: &[Finding], run: &RunInfo<'_>) {
    let latest = result.inputs.last().expect("an audit has a snapshot");
    let dates: Vec<String> = result
        .inputs
        .iter()
        .map(|i| IsoDate(i.input.date).to_string())
        .collect();
    let _ = write!(
        h,
        "<h1>Voter register audit</h1><p class=\"meta\">{} snapshots ({}), latest {} rows. As of {}.{}</p>",
        result.inputs.len(),
        escape(&dates.join(", ")),
        latest.digest.rows,
        escape(run.as_of),
        if run.redactor.is_some() { " Personal data redacted (keyed hashes)." } else { "" }
    );
    let tally = Severity::tally(result.incidents.iter().map(|i| i.severity));
    let count = |s: Severity| tally[s as usize];
    let alarms = count(Severity::Critical) + count(Severity::High);
    let medium = count(Severity::Medium);
    let (class, text) = if alarms > 0 {
        ("verdict", format!("{alarms} high or critical incidents need review before this register is used; {medium} more at medium."))
    } else if medium > 0 {
        (
            "verdict",
            format!("No high incidents; {medium} medium incidents to review."),
        )
    } else {
        ("verdict ok", "No incidents above low severity.".to_string())
    };
    let _ = write!(
        h,
        "<p class=\"{class}\">{}</p><div class=\"cards\">",
        escape(&text)
    );
    for s in Severity::ALL.iter().rev() {
        let _ = write!(
            h,
            "<div class=\"card sev-{0}\"><b>{1}</b>{0}</div>",
            s.name(),
            count(*s)
        );
    }
    let _ = write!(
        h,
        "<div class=\"card\"><b>{}</b>findings</div><div class=\"card\"><b>{}</b>duplicate clusters</div></div>",
        findings.len(),
        result.dedupe.clusters.len()
    );
    incidents_section(h, result, findings);
}

/// Incidents shown before the page says how many more there are (all are in `report.json`).
const INCIDENTS_SHOWN: usize = 100;

/// The incidents, worst first: each with its story and a drill-down to its findings and
/// voters.
fn incidents_section(h: &mut String, result: &AuditResult, findings: &[Finding]) {
    let latest = result.inputs.last().map_or(0, |i| i.input.date);
    let _ = write!(
        h,
        "<h2>Incidents ({})</h2><p class=\"meta\">An incident is the findings that describe one event. \
         <b>Observed</b>: what the rules counted; <b>expected</b>: what the baseline (peer areas, the \
         area's history, the calendar) predicts. <b>High</b> needs two rules that saw it, or one \
         overwhelming signal; routine events (list maintenance, redistricting, re-keying) stay low.</p><ol>",
        result.incidents.len()
    );
    for i in result.incidents.iter().take(INCIDENTS_SHOWN) {
        let ids: Vec<String> = i
            .findings
            .iter()
            .take(DRILL_IDS)
            .map(|&f| super::findings::finding_id(&findings[f]))
            .collect();
        let voters: Vec<&str> = i
            .voter_ids
            .iter()
            .take(DRILL_IDS)
            .map(String::as_str)
            .collect();
        let _ =
            write!(
            h,
            "<li id=\"{id}\">{} <b>{id}</b> <span class=\"meta\">{} &middot; {}</span><p>{}</p>{}\
             <details><summary>{} findings, {} voters</summary><p>{}{}</p><p>{}{}</p></details></li>",
            severity_tag(i.severity),
            super::incidents::status(i, latest),
            i.basis.name(),
            escape(&super::incidents::story(i, findings)),
            i.findings
                .iter()
                .find_map(|&f| Series::of(&result.anomalies.series, &findings[f]))
                .map_or(String::new(), rate_chart),
            i.findings.len(),
            i.voter_ids.len(),
            escape(&ids.join(" ")),
            if i.findings.len() > DRILL_IDS { " &hellip;" } else { "" },
            escape(&voters.join(" ")),
            if i.voter_ids.len() > DRILL_IDS { " &hellip;" } else { "" },
            id = i.id,
        );
    }
    h.push_str("</ol>");
    if result.incidents.len() > INCIDENTS_SHOWN {
        let _ = write!(
            h,
            "<p>{} more incidents in report.json.</p>",
            result.incidents.len() - INCIDENTS_SHOWN
        );
    }
}

/// An area's or account's rate at every snapshot beside the median of its peers: a small
/// inline SVG (own values in red, the peers' median dashed grey), so that a reader sees the
/// one interval that stands out.
fn rate_chart(s: &Series) -> String {
    const W: f64 = 420.0;
    const H: f64 = 120.0;
    const LEFT: f64 = 48.0;
    const TOP: f64 = 22.0;
    const BOTTOM: f64 = 22.0;
    let n = s.points.len();
    let max = s
        .points
        .iter()
        .flat_map(|p| [p.own, p.peers])
        .flatten()
        .fold(0.0_f64, f64::max);
    if n == 0 || max <= 0.0 {
        return String::new();
    }
    let x = |i: usize| LEFT + (W - LEFT - 30.0) * (i as f64 + 0.5) / n as f64;
    let y = |v: f64| TOP + (H - TOP - BOTTOM) * (1.0 - v / max);
    let line = |values: Vec<Option<f64>>| -> String {
        let pts: Vec<String> = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| format!("{:.1},{:.1}", x(i), y(v))))
            .collect();
        pts.join(" ")
    };
    let own = line(s.points.iter().map(|p| p.own).collect());
    let peers = line(s.points.iter().map(|p| p.peers).collect());
    let what = match s.kind {
        Some(kind) => format!("{kind}, {} in {} {}", s.unit, s.scope.name(), s.subject),
        None => format!("{} by account {} per interval", s.unit, s.subject),
    };
    let mut svg = format!(
        "<svg viewBox=\"0 0 {W} {H}\" width=\"{W}\" role=\"img\" aria-label=\"{}\">\
         <text x=\"4\" y=\"14\" font-size=\"11\">{}</text>\
         <line x1=\"{LEFT}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#d7dbe2\"/>\
         <text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{}</text>\
         <text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">0</text>\
         <polyline points=\"{peers}\" fill=\"none\" stroke=\"#5a6272\" stroke-dasharray=\"4 3\"/>\
         <polyline points=\"{own}\" fill=\"none\" stroke=\"#c62828\" stroke-width=\"2\"/>",
        escape(&what),
        escape(&what),
        H - BOTTOM,
        W - 20.0,
        H - BOTTOM,
        LEFT - 4.0,
        TOP + 4.0,
        super::incidents::about(max),
        LEFT - 4.0,
        H - BOTTOM,
    );
    for (i, p) in s.points.iter().enumerate() {
        if let Some(v) = p.own {
            let _ = write!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#c62828\"/>",
                x(i),
                y(v)
            );
        }
        // Every date when they fit, else the first and the last.
        if n <= 6 || i == 0 || i + 1 == n {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
                x(i),
                H - 6.0,
                IsoDate(p.to)
            );
        }
    }
    svg.push_str("</svg>");
    format!(
        "{svg}<p class=\"meta\"><span style=\"color:#c62828\">&#9679; {}</span> &middot; \
         <span style=\"color:#5a6272\">- - the median of its peers</span>, at each snapshot</p>",
        escape(&s.subject)
    )
}

/// Voter ids (and an incident's finding ids) shown inside a drill-down before it says how
/// many more there are.
const DRILL_IDS: usize = 500;

/// Findings of one rule shown at one severity before the page says how many more there are:
/// a rule that fires thousands of times (R-ID-REPEATED: 17,540 at 10,000,000 voters) made a
/// 54 MB page; `flagged.csv` and `report.json` list every finding.
const ROWS_PER_RULE: usize = 100;

fn findings_section(h: &mut String, findings: &[Finding]) {
    let _ = write!(h, "<h2>Findings ({})</h2>", findings.len());
    for s in Severity::ALL.iter().rev() {
        let of: Vec<&Finding> = findings.iter().filter(|f| f.severity == *s).collect();
        if of.is_empty() {
            continue;
        }
        let _ = write!(h, "<h3>{} ({})</h3><div class=\"scroll\"><table class=\"findings\"><tr><th>id</th><th>rule</th><th>scope</th><th>date</th><th>voters</th><th>evidence and records</th></tr>", severity_tag(*s), of.len());
        let mut shown: std::collections::BTreeMap<&str, usize> = Default::default();
        for f in of {
            let n = shown.entry(f.rule).or_default();
            *n += 1;
            if *n > ROWS_PER_RULE {
                continue;
            }
            let ids: Vec<String> = f
                .voter_ids
                .iter()
                .take(DRILL_IDS)
                .map(|v| escape(v))
                .collect();
            let more = f.voter_ids.len().saturating_sub(DRILL_IDS);
            let _ = write!(
                h,
                "<tr><td class=\"fid\">{}</td><td>{}</td><td>{} {}</td><td>{}</td><td class=\"num\">{}</td><td>{}<details><summary>records</summary><div class=\"ids\">{}{}</div></details></td></tr>",
                finding_id(f),
                escape(f.rule),
                f.scope.name(),
                escape(&f.scope_value),
                f.snapshot_date.map(|d| IsoDate(d).to_string()).unwrap_or_default(),
                f.voter_ids.len(),
                escape(&detail(&f.evidence)),
                ids.join(" "),
                if more > 0 { format!(" … and {more} more (flagged.csv has all)") } else { String::new() }
            );
        }
        for (rule, n) in shown.iter().filter(|(_, &n)| n > ROWS_PER_RULE) {
            let _ = write!(
                h,
                "<tr><td></td><td>{}</td><td colspan=\"4\">… and {} more {} findings at this severity (flagged.csv and report.json list all)</td></tr>",
                escape(rule),
                n - ROWS_PER_RULE,
                escape(rule)
            );
        }
        h.push_str("</table></div>");
    }
}

/// A bar chart: labelled bars, optionally highlighted.
fn bar_chart(title: &str, bars: &[(String, f64, bool)], unit: &str) -> String {
    let width = 1000.0;
    let bar_h = 18.0;
    let label_w = 260.0;
    let height = 30.0 + bars.len() as f64 * (bar_h + 4.0);
    let max = bars.iter().map(|b| b.1).fold(0.0f64, f64::max).max(1e-9);
    let mut s = format!(
        "<svg viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{0}\"><text x=\"8\" y=\"18\" font-size=\"14\" font-weight=\"600\">{0}</text>",
        escape(title)
    );
    for (i, (label, value, hot)) in bars.iter().enumerate() {
        let y = 28.0 + i as f64 * (bar_h + 4.0);
        let w = (width - label_w - 90.0) * value / max;
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"end\">{}</text><rect x=\"{label_w}\" y=\"{y}\" width=\"{w:.1}\" height=\"{bar_h}\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{}\" font-size=\"12\">{}{unit}</text>",
            label_w - 6.0,
            y + 13.0,
            escape(label),
            if *hot { "#c62828" } else { "#4a78b5" },
            label_w + w + 4.0,
            y + 13.0,
            if value.fract() == 0.0 { format!("{value:.0}") } else { format!("{value:.2}") }
        );
    }
    s.push_str("</svg>");
    s
}

fn charts(h: &mut String, result: &AuditResult, findings: &[Finding]) {
    h.push_str("<h2>Charts</h2>");
    // Changes by kind across the snapshots.
    for (t, d) in result.diffs.iter().enumerate() {
        let bars: Vec<(String, f64, bool)> = d
            .kind_counts()
            .into_iter()
            .map(|(k, n)| (k.name().to_string(), n as f64, false))
            .collect();
        let title = format!(
            "Changed records by kind, {} to {}",
            IsoDate(result.inputs[t].input.date),
            IsoDate(result.inputs[t + 1].input.date)
        );
        h.push_str(&bar_chart(&title, &bars, ""));
    }
    area_rates(h, result, findings);
    // Duplicate clusters by size.
    let mut sizes: BTreeMap<usize, usize> = BTreeMap::new();
    for c in &result.dedupe.clusters {
        *sizes.entry(c.rows.len()).or_default() += 1;
    }
    let bars: Vec<(String, f64, bool)> = sizes
        .into_iter()
        .map(|(size, n)| (format!("{size} records"), n as f64, size > 2))
        .collect();
    h.push_str(&bar_chart("Duplicate clusters by size", &bars, " clusters"));
    edits_by_hour_and_operator(h, result);
}

/// Per-precinct rates of the most-flagged change kind in the latest interval, flagged
/// precincts in red.
fn area_rates(h: &mut String, result: &AuditResult, findings: &[Finding]) {
    let Some(d) = result.diffs.last() else { return };
    let t = result.diffs.len() - 1;
    let (old, new) = (&result.inputs[t].snapshot, &result.inputs[t + 1].snapshot);
    let to = result.inputs[t + 1].input.date;
    let flagged: Vec<&Finding> = findings
        .iter()
        .filter(|f| {
            f.rule == "A-PEER-RATE" && f.scope == Scope::Precinct && f.snapshot_date == Some(to)
        })
        .collect();
    let kind = flagged
        .iter()
        .filter_map(|f| {
            f.evidence
                .facts
                .iter()
                .find(|(k, _)| *k == "change_kind")
                .map(|(_, v)| v.clone())
        })
        .next()
        .and_then(|k| ChangeKind::from_name(&k))
        .unwrap_or(ChangeKind::Removal);
    let (Some(old_p), Some(new_p)) = (old.column(Field::Precinct), new.column(Field::Precinct))
    else {
        return;
    };
    // The precincts' records in the whole earlier snapshot, as the detectors counted them.
    let exposure: BTreeMap<String, f64> = result.prepared[t]
        .old_sizes(Field::Precinct)
        .into_iter()
        .map(|(area, n)| (area, n as f64))
        .collect();
    let mut counts: BTreeMap<String, f64> = BTreeMap::new();
    for r in d.records.iter().filter(|r| r.kinds.contains(&kind)) {
        let area = match (r.old_row, r.new_row) {
            (Some(i), _) => old_p.text(i as usize),
            (None, Some(j)) => new_p.text(j as usize),
            _ => None,
        };
        *counts
            .entry(area.map(|v| v.into_owned()).unwrap_or_default())
            .or_default() += 1.0;
    }
    let hot: Vec<&str> = flagged.iter().map(|f| f.scope_value.as_str()).collect();
    let mut bars: Vec<(String, f64, bool)> = exposure
        .iter()
        .filter(|(_, n)| **n >= 20.0)
        .map(|(a, n)| {
            (
                a.clone(),
                100.0 * counts.get(a).copied().unwrap_or(0.0) / n,
                hot.contains(&a.as_str()),
            )
        })
        .collect();
    bars.sort_by(|a, b| b.1.total_cmp(&a.1));
    bars.truncate(40);
    let title = format!(
        "{} rate per precinct, last interval (top 40; flagged in red)",
        kind.name()
    );
    h.push_str(&bar_chart(&title, &bars, "%"));
}

fn edits_by_hour_and_operator(h: &mut String, result: &AuditResult) {
    let Some(d) = result.diffs.last() else { return };
    let new = &result.inputs.last().expect("snapshot").snapshot;
    let (Some(FieldColumn::Millis(at)), Some(by)) =
        (new.column(Field::ChangedAt), new.column(Field::ChangedBy))
    else {
        return;
    };
    let mut hours = [0f64; 24];
    let mut ops: BTreeMap<String, f64> = BTreeMap::new();
    for r in &d.records {
        let Some(j) = r.new_row else { continue };
        if let Some(ts) = at.get(j as usize) {
            hours[(ts.rem_euclid(MS_PER_DAY) / 3_600_000) as usize] += 1.0;
        }
        if let Some(op) = by.str(j as usize) {
            *ops.entry(op.to_string()).or_default() += 1.0;
        }
    }
    let bars: Vec<(String, f64, bool)> = hours
        .iter()
        .enumerate()
        .map(|(hr, n)| {
            (
                format!("{hr:02}:00"),
                *n,
                !(6..22).contains(&hr) && *n > 0.0,
            )
        })
        .collect();
    h.push_str(&bar_chart(
        "Edits in the last interval by hour of day (night in red)",
        &bars,
        "",
    ));
    let mut bars: Vec<(String, f64, bool)> =
        ops.into_iter().map(|(op, n)| (op, n, false)).collect();
    bars.sort_by(|a, b| b.1.total_cmp(&a.1));
    bars.truncate(25);
    h.push_str(&bar_chart(
        "Edits in the last interval by operator (top 25)",
        &bars,
        "",
    ));
}

fn runs_section(h: &mut String, result: &AuditResult) {
    h.push_str("<h2>Checks</h2><div class=\"scroll\"><table><tr><th>rule</th><th>status</th></tr>");
    for r in &result.runs {
        let status = match &r.status {
            RuleStatus::Ran => "ran".to_string(),
            RuleStatus::Skipped { missing } => format!(
                "skipped: the input lacks {}",
                missing
                    .iter()
                    .map(|f| f.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            RuleStatus::NotApplicable { why } => format!("not applicable: {why}"),
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(r.rule),
            escape(&status)
        );
    }
    h.push_str("</table></div>");
}

fn provenance(h: &mut String, result: &AuditResult, run: &RunInfo<'_>) {
    h.push_str("<h2>Provenance</h2><div class=\"scroll\"><table><tr><th>snapshot</th><th>file</th><th>SHA-256</th><th class=\"num\">read</th><th class=\"num\">loaded</th><th class=\"num\">rejected</th></tr>");
    for i in &result.inputs {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"ids\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            IsoDate(i.input.date),
            escape(&i.input.path.display().to_string()),
            i.sha256,
            i.report.rows_read,
            i.report.rows_loaded,
            i.report.rows_rejected
        );
    }
    let _ = write!(
        h,
        "</table></div><p class=\"meta\">rollaudit {} · profile {} · command: <span class=\"ids\">{}</span></p>",
        env!("CARGO_PKG_VERSION"),
        escape(run.profile_name),
        escape(&run.command_line.join(" "))
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_shown_as_text() {
        assert_eq!(
            escape("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(
            escape("O'Brien & \"Sons\""),
            "O&#39;Brien &amp; &quot;Sons&quot;"
        );
    }
}
