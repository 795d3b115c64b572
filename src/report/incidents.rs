//! Incidents in words: the story of each [`Incident`] and its `report.json` form.
//!
//! # `report.json`'s `incidents`
//! Most severe first: `id, severity, basis` (`corroborated`, `overwhelming`, `single_signal`,
//! `routine`, `rolled_up`, `batch`: why the severity, see `rollaudit::incidents`), `status` (`new`:
//! its interval ends at the latest snapshot; `seen_before`: an earlier interval, which the
//! audit of an earlier snapshot reported too), `story` (one paragraph, figures rounded),
//! `rules`, `finding_ids` (the primary finding first), `snapshot_date`, `district` (roll-ups),
//! `accounts` (`account`, `voters`: who last edited its voters), `first_edit`, `last_edit`,
//! `affected_voters` and `voter_ids`.

use serde_json::{json, Value};

use super::findings::finding_id;
use crate::dates::IsoDate;
use crate::findings::{Finding, Scope, Severity};
use crate::incidents::{Basis, Incident};

/// The `incidents` array of `report.json`; `findings` are the findings as shown (redacted
/// when asked), `latest` the latest snapshot's date.
pub fn incidents_json(incidents: &[Incident], findings: &[Finding], latest: i32) -> Vec<Value> {
    incidents
        .iter()
        .map(|i| {
            let accounts: Vec<Value> = i
                .accounts
                .iter()
                .map(|(a, n)| json!({"account": a, "voters": n}))
                .collect();
            json!({
                "id": i.id,
                "severity": i.severity.name(),
                "basis": i.basis.name(),
                "status": status(i, latest),
                "story": story(i, findings),
                "rules": i.rules,
                "finding_ids": i.findings.iter().map(|&f| finding_id(&findings[f])).collect::<Vec<_>>(),
                "snapshot_date": i.snapshot_date.map(|d| IsoDate(d).to_string()),
                "district": i.district,
                "accounts": accounts,
                "first_edit": i.first_edit,
                "last_edit": i.last_edit,
                "affected_voters": i.voter_ids.len(),
                "voter_ids": i.voter_ids,
            })
        })
        .collect()
}

/// Incidents listed on the terminal (all are in `report.json` or `scan.json`).
pub const TOP_INCIDENTS: usize = 10;

/// The terminal's incident lines, for `audit` and `scan`: the count per severity, then the
/// worst [`TOP_INCIDENTS`] at medium or above, each with its status and story.
pub fn summary(incidents: &[Incident], findings: &[Finding], latest: i32) -> String {
    let mut out = format!(
        "incidents: {} ({} findings grouped by event; --fail-on applies to these)\n",
        severity_counts_text(incidents.iter().map(|i| i.severity)),
        findings.len()
    );
    for i in incidents
        .iter()
        .filter(|i| i.severity >= Severity::Medium)
        .take(TOP_INCIDENTS)
    {
        out.push_str(&format!(
            "  {:<8} {} {:<11} {}\n",
            i.severity.name(),
            i.id,
            status(i, latest),
            story(i, findings)
        ));
    }
    out
}

/// `critical N, high N, ...`: how many of `severities` are at each, worst first.
pub fn severity_counts_text(severities: impl Iterator<Item = Severity>) -> String {
    let n = Severity::tally(severities);
    let counts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .map(|s| format!("{} {}", s.name(), n[*s as usize]))
        .collect();
    counts.join(", ")
}

/// Incidents per severity, every severity present (0 when none).
pub fn severity_counts_json(incidents: &[Incident]) -> Value {
    super::findings::severity_counts(incidents.iter().map(|i| i.severity))
}

/// `new` when the incident's interval ends at the latest snapshot (or it has no date), else
/// `seen_before`.
pub fn status(incident: &Incident, latest: i32) -> &'static str {
    match incident.snapshot_date {
        Some(d) if d < latest => "seen_before",
        _ => "new",
    }
}

/// One paragraph: what happened, where, when and by whom, how many voters against how many
/// the baseline expects, and why it has its severity.
pub fn story(incident: &Incident, findings: &[Finding]) -> String {
    let p = &findings[incident.findings[0]];
    let voters = incident.voter_ids.len();
    let mut s = what(incident, p, findings);
    if let Some(d) = incident.snapshot_date {
        s.push_str(&format!(", by the snapshot of {}", IsoDate(d)));
    }
    s.push('.');
    if let Some(expected) = p
        .evidence
        .expected
        .filter(|_| !matches!(incident.basis, Basis::RolledUp | Basis::Batch))
    {
        let expects = match expected < 1.0 {
            true => "less than 1".to_string(),
            false => format!("about {}", about(expected)),
        };
        s.push_str(&format!(
            " Observed {}, where {} would lead us to expect {expects}.",
            about(p.evidence.observed),
            baseline(p.rule)
        ));
    }
    if !incident.accounts.is_empty() {
        let accounts: Vec<String> = incident
            .accounts
            .iter()
            .map(|(a, n)| format!("{a} ({n})"))
            .collect();
        s.push_str(&format!(" Last edited by {}", accounts.join(", ")));
        if let (Some(first), Some(last)) = (&incident.first_edit, &incident.last_edit) {
            s.push_str(&format!(", between {first} and {last}"));
        }
        s.push('.');
    }
    let others = incident.findings.len() - 1;
    s.push_str(&match incident.basis {
        Basis::Corroborated => {
            let signals = crate::incidents::signals(&incident.findings, findings);
            format!(
                " Corroborated: {} rules saw it ({}), in {} findings about {voters} voters.",
                signals.len(),
                signals.join(", "),
                others + 1
            )
        }
        Basis::Overwhelming => format!(
            " One rule saw it ({}), and its signal is overwhelming on its own.",
            p.rule
        ),
        Basis::Single => format!(
            " One rule saw it ({}): held at medium until a second signal agrees.",
            p.rule
        ),
        Basis::Routine => {
            let routine = incident
                .findings
                .iter()
                .map(|&f| &findings[f])
                .find(|f| crate::incidents::ROUTINE_RULES.contains(&f.rule))
                .unwrap_or(p);
            format!(
                " Explained as routine ({}: {}); {voters} voters.",
                routine.rule, routine.evidence.baseline
            )
        }
        Basis::RolledUp => format!(" {} records; {voters} voters.", others + 1),
        Basis::Batch => format!(
            " One batch: every record was entered by one account, in one district and \
             interval; {} findings of {} rules about {voters} voters.",
            others + 1,
            incident.rules.len()
        ),
    });
    s
}

/// What the primary finding's expected count comes from, in words.
fn baseline(rule: &str) -> &'static str {
    match rule {
        "A-PEER-RATE" => "the peer areas of the same interval",
        "A-HISTORY-RATE" => "the area's own earlier intervals",
        "A-EVENT-TRANSITION" => "the same change in the other areas",
        "A-OPERATOR-NIGHT" => "the account's own nights and its peers'",
        "A-OPERATOR-BURST" | "A-OPERATOR-VOLUME" => "office hours and the other accounts",
        "A-CAL-FREEZE" | "A-CAL-QUIET" => "the election calendar",
        "A-SKEW" => "the area's population",
        "R-ADDRESS-CROWDED" | "A-EVENT-ADDRESS" => "the register's other addresses",
        "R-CONTACT-SHARED" => "the register's other phones and emails",
        _ => "the rule's baseline",
    }
}

/// The opening clause: what happened, and where.
fn what(incident: &Incident, p: &Finding, findings: &[Finding]) -> String {
    let voters = p.voter_ids.len();
    let fact = |name: &str| {
        p.evidence
            .facts
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    };
    let place = match p.scope {
        Scope::Snapshot => "the register".to_string(),
        Scope::Record => match &incident.district {
            Some(d) => format!("district {d}"),
            None => "the register".to_string(),
        },
        scope => format!("{} {}", scope.name(), p.scope_value),
    };
    if incident.basis == Basis::Batch {
        return format!(
            "{} records entered in {place} fail record checks ({})",
            incident.voter_ids.len(),
            incident.rules.join(", ")
        );
    }
    match p.rule {
        "A-EVENT-TRANSITION" => format!(
            "{voters} voters had one and the same change ({}) in {place}",
            fact("transition").unwrap_or("one field")
        ),
        "A-PEER-RATE" | "A-HISTORY-RATE" => format!(
            "{voters} voters saw one kind of change ({}) in {place}, far above its usual rate",
            fact("change_kind").unwrap_or("changes")
        ),
        "A-OPERATOR-NIGHT" | "A-OPERATOR-BURST" | "A-OPERATOR-VOLUME" => format!(
            "Account {} edited {voters} voters out of its usual pattern ({})",
            p.scope_value,
            fact("when")
                .or(fact("hour"))
                .unwrap_or("far above its peers")
        ),
        "A-CAL-FREEZE" => format!("{voters} voters were edited after the roll freeze"),
        "A-CAL-QUIET" => {
            format!("{voters} voters were removed inside the quiet period before election day")
        }
        "A-EVENT-ADDRESS" | "R-ADDRESS-CROWDED" => {
            format!("{voters} voters were registered at or moved to {place}")
        }
        "R-CONTACT-SHARED" => format!("{voters} registrations share one {place}"),
        "A-ID-REUSE" => format!("{voters} voter ids now hold a different person"),
        "A-SKEW" => format!(
            "Removals in {place} fell unevenly by {} ({})",
            fact("dimension").unwrap_or("category"),
            fact("category").unwrap_or("one category")
        ),
        "D-DUPLICATE-CLUSTER" => format!(
            "{} clusters of probable duplicate registrations in {place}",
            incident.findings.len()
        ),
        rule => {
            let records = incident
                .findings
                .iter()
                .filter(|&&f| findings[f].scope == Scope::Record)
                .count();
            match p.scope {
                Scope::Record => format!("{rule} on {records} records in {place}"),
                _ => format!("{rule} on {voters} voters in {place}"),
            }
        }
    }
}

/// A figure rounded for reading: whole numbers below 100, two significant digits above
/// ("about 2", "about 250", "about 12,000").
pub fn about(x: f64) -> String {
    if !x.is_finite() {
        return "?".into();
    }
    if x < 1.0 && x > 0.0 {
        return "less than 1".into();
    }
    let rounded = if x < 100.0 {
        x.round()
    } else {
        let scale = 10f64.powi(x.log10().floor() as i32 - 1);
        (x / scale).round() * scale
    };
    let digits = format!("{}", rounded as u64);
    let mut out = String::new();
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_rounded_for_reading() {
        assert_eq!(about(0.3), "less than 1");
        assert_eq!(about(0.0), "0");
        assert_eq!(about(6.51), "7");
        assert_eq!(about(253.0), "250");
        assert_eq!(about(12_345.0), "12,000");
        assert_eq!(about(1_999_999.0), "2,000,000");
    }
}
