//! The election calendar (`--calendar election.toml`): the dates the rules depend on.
//!
//! # Format
//! ```toml
//! name = "General election"          # required
//! election_day = "2027-03-04"        # required, YYYY-MM-DD
//! roll_freeze = "2027-01-18"         # optional: records must not be edited after this date
//! registration_cutoff = "2027-01-03" # optional: registrations after it are late
//! quiet_period_days = 90             # optional: no systematic removals within this many days
//!                                    # before election day (US NVRA: 90 for federal elections)
//! voting_age = 18                    # optional, default 18
//! pre_registration_age = 16          # optional: youngest age at which a pending registration is lawful
//!
//! [[phases]]                         # optional, any number
//! name = "registration"
//! start = "2026-01-01"
//! end = "2027-01-03"
//! ```
//! Unknown keys, wrong types, impossible dates and phases that end before they start are
//! errors naming the file and the key. `rollaudit generate` writes this format.

use serde::Deserialize;

use crate::dates::parse_iso_date;

/// A validated calendar. Dates are days since 1970-01-01.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElectionCalendar {
    pub name: String,
    pub election_day: i32,
    pub roll_freeze: Option<i32>,
    pub registration_cutoff: Option<i32>,
    pub quiet_period_days: Option<u32>,
    pub voting_age: u32,
    pub pre_registration_age: Option<u32>,
    pub phases: Vec<Phase>,
    /// The TOML text, so reports can cite its digest.
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phase {
    pub name: String,
    pub start: i32,
    pub end: i32,
}

/// Why a calendar cannot be used; one line, naming the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("calendar {origin}: line {line}: {message}")]
    Syntax {
        origin: String,
        line: usize,
        message: String,
    },
    #[error("calendar {origin}: {key}: {why}")]
    Invalid {
        origin: String,
        key: String,
        why: String,
    },
}

/// The voting age where the calendar does not say (18 in nearly every democracy).
pub const DEFAULT_VOTING_AGE: u32 = 18;

/// The longest quiet period accepted: ten years. Real ones are weeks to months (US NVRA: 90
/// days); a longer one is a typo, and an unbounded one (up to 2^32 - 1 days) made
/// [`ElectionCalendar::quiet_start`] overflow `i32` and panic.
pub const MAX_QUIET_PERIOD_DAYS: u32 = 3_650;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    name: String,
    election_day: String,
    roll_freeze: Option<String>,
    registration_cutoff: Option<String>,
    quiet_period_days: Option<u32>,
    voting_age: Option<u32>,
    pre_registration_age: Option<u32>,
    #[serde(default)]
    phases: Vec<PhaseFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PhaseFile {
    name: String,
    start: String,
    end: String,
}

impl ElectionCalendar {
    pub fn parse(text: &str, origin: &str) -> Result<ElectionCalendar, CalendarError> {
        let raw: CalendarFile = toml::from_str(text).map_err(|e| CalendarError::Syntax {
            origin: origin.to_string(),
            line: e.span().map_or(1, |span| {
                1 + text[..span.start.min(text.len())].matches('\n').count()
            }),
            message: e.message().trim().to_string(),
        })?;
        let invalid = |key: &str, why: &str| CalendarError::Invalid {
            origin: origin.to_string(),
            key: key.to_string(),
            why: why.to_string(),
        };
        let date = |key: &str, value: &str| {
            parse_iso_date(value).ok_or_else(|| invalid(key, "not a YYYY-MM-DD date that exists"))
        };
        let election_day = date("election_day", &raw.election_day)?;
        let optional =
            |key: &str, value: &Option<String>| value.as_deref().map(|v| date(key, v)).transpose();
        let roll_freeze = optional("roll_freeze", &raw.roll_freeze)?;
        let registration_cutoff = optional("registration_cutoff", &raw.registration_cutoff)?;
        if roll_freeze.is_some_and(|d| d > election_day) {
            return Err(invalid("roll_freeze", "falls after election_day"));
        }
        if registration_cutoff.is_some_and(|d| d > election_day) {
            return Err(invalid("registration_cutoff", "falls after election_day"));
        }
        if raw
            .quiet_period_days
            .is_some_and(|d| d > MAX_QUIET_PERIOD_DAYS)
        {
            return Err(invalid(
                "quiet_period_days",
                "must be at most 3650 (ten years)",
            ));
        }
        let voting_age = raw.voting_age.unwrap_or(DEFAULT_VOTING_AGE);
        if !(14..=30).contains(&voting_age) {
            return Err(invalid("voting_age", "must be between 14 and 30"));
        }
        if raw.pre_registration_age.is_some_and(|a| a > voting_age) {
            return Err(invalid("pre_registration_age", "is above voting_age"));
        }
        let mut phases = Vec::with_capacity(raw.phases.len());
        for (k, p) in raw.phases.iter().enumerate() {
            let key = |field: &str| format!("phases[{k}].{field}");
            let start = date(&key("start"), &p.start)?;
            let end = date(&key("end"), &p.end)?;
            if end < start {
                return Err(invalid(&key("end"), "is before start"));
            }
            phases.push(Phase {
                name: p.name.clone(),
                start,
                end,
            });
        }
        Ok(ElectionCalendar {
            name: raw.name,
            election_day,
            roll_freeze,
            registration_cutoff,
            quiet_period_days: raw.quiet_period_days,
            voting_age,
            pre_registration_age: raw.pre_registration_age,
            phases,
            text: text.to_string(),
        })
    }

    /// First day of the quiet period, if the calendar has one.
    pub fn quiet_start(&self) -> Option<i32> {
        self.quiet_period_days.map(|d| self.election_day - d as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "Test election"
election_day = "2027-03-04"
roll_freeze = "2027-01-18"
quiet_period_days = 90

[[phases]]
name = "registration"
start = "2026-01-01"
end = "2027-01-03"
"#;

    #[test]
    fn parses_the_documented_format() {
        let c = ElectionCalendar::parse(GOOD, "e.toml").unwrap();
        assert_eq!(c.election_day, parse_iso_date("2027-03-04").unwrap());
        assert_eq!(c.quiet_start(), Some(c.election_day - 90));
        assert_eq!(c.voting_age, 18);
        assert_eq!(c.phases.len(), 1);
    }

    #[test]
    fn errors_name_the_key_and_stay_on_one_line() {
        let cases = [
            (GOOD.replace("2027-03-04", "2027-02-30"), "election_day"),
            (
                GOOD.replace("quiet_period_days", "quiet_days"),
                "quiet_days",
            ),
            (
                GOOD.replace("quiet_period_days = 90", "quiet_period_days = \"90\""),
                "line 5",
            ),
            (
                GOOD.replace("end = \"2027-01-03\"", "end = \"2025-01-03\""),
                "phases[0].end",
            ),
            (GOOD.replace("2027-01-18", "2027-05-01"), "roll_freeze"),
        ];
        for (text, key) in cases {
            let err = ElectionCalendar::parse(&text, "e.toml")
                .unwrap_err()
                .to_string();
            assert!(err.contains(key) && err.contains("e.toml"), "{key}: {err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }
}
