//! Whole-column reads for the rules: each field's values collected once into a plain vector,
//! so that the rule kernels loop over slices instead of asking polars row by row.
//!
//! Also the small normalisations several rules share (addresses, names, phones).

use crate::model::{Field, Status};
use crate::snapshot::{FieldColumn, Snapshot};

/// A record's standing on the roll (see the rules' module docs, "Which records count").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Standing {
    Active,
    Inactive,
    Pending,
    Removed,
    /// No status: treated as active.
    Unknown,
}

impl Standing {
    pub fn name(self) -> &'static str {
        match self {
            Standing::Active => "active",
            Standing::Inactive => "inactive",
            Standing::Pending => "pending",
            Standing::Removed => "removed",
            Standing::Unknown => "unknown",
        }
    }

    /// Can vote as the roll stands (active, or no status to say otherwise).
    pub fn votes(self) -> bool {
        matches!(self, Standing::Active | Standing::Unknown)
    }

    /// On the roll now or soon: active, pending, or unknown.
    pub fn current(self) -> bool {
        matches!(
            self,
            Standing::Active | Standing::Pending | Standing::Unknown
        )
    }
}

/// The `voter_id` of every row.
pub(crate) fn ids(snap: &Snapshot) -> Vec<&str> {
    snap.voter_ids()
        .iter()
        .map(|v| v.unwrap_or_default())
        .collect()
}

/// The standing of every row.
pub(crate) fn standings(snap: &Snapshot) -> Vec<Standing> {
    match texts(snap, Field::Status) {
        None => vec![Standing::Unknown; snap.rows()],
        Some(values) => values
            .into_iter()
            .map(|v| match v.and_then(Status::from_name) {
                Some(Status::Active) => Standing::Active,
                Some(Status::Inactive) => Standing::Inactive,
                Some(Status::Pending) => Standing::Pending,
                Some(Status::Removed) => Standing::Removed,
                None => Standing::Unknown,
            })
            .collect(),
    }
}

/// A text field's values, `None` when the snapshot lacks the field.
pub(crate) fn texts(snap: &Snapshot, field: Field) -> Option<Vec<Option<&str>>> {
    match snap.column(field)? {
        FieldColumn::Text(ca) => Some(ca.iter().collect()),
        _ => None,
    }
}

/// A date (days since 1970) or year field's values, `None` when the snapshot lacks it.
pub(crate) fn days(snap: &Snapshot, field: Field) -> Option<Vec<Option<i32>>> {
    match snap.column(field)? {
        FieldColumn::Day(ca) | FieldColumn::Year(ca) => Some(ca.iter().collect()),
        _ => None,
    }
}

/// What a record says about its birth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Birth {
    Unknown,
    /// Days since 1970.
    Date(i32),
    /// Only the year (North Carolina publishes no more).
    Year(i32),
}

/// Every row's birth, from `birth_date` where present, else `birth_year`; `None` when the
/// snapshot has neither field.
pub(crate) fn births(snap: &Snapshot) -> Option<Vec<Birth>> {
    let dates = days(snap, Field::BirthDate);
    let years = days(snap, Field::BirthYear);
    if dates.is_none() && years.is_none() {
        return None;
    }
    Some(
        (0..snap.rows())
            .map(|r| {
                let date = dates.as_ref().and_then(|d| d[r]);
                let year = years.as_ref().and_then(|y| y[r]);
                match (date, year) {
                    (Some(d), _) => Birth::Date(d),
                    (None, Some(y)) => Birth::Year(y),
                    (None, None) => Birth::Unknown,
                }
            })
            .collect(),
    )
}

/// The range of ages a birth allows on `on`: exact for a date, two possible ages for a year.
pub(crate) fn age_range(birth: Birth, on: i32) -> Option<(i32, i32)> {
    match birth {
        Birth::Unknown => None,
        Birth::Date(d) => {
            let a = super::age_on(d, on);
            Some((a, a))
        }
        Birth::Year(y) => {
            let a = crate::dates::civil_from_days(on).0 - y;
            Some((a - 1, a))
        }
    }
}

/// Upper case, every run of characters other than letters and digits turned into one space,
/// trimmed: `12 Main St., Apt #4` and `12 MAIN ST APT 4` agree. Abbreviations are not
/// expanded (`ST` and `STREET` differ): an allowlist must spell them as the register does.
pub(crate) fn normalise_address(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_uppercase));
    }
    out
}

/// A name for matching: letters only, upper case (`Mc Donald` = `McDonald`, `O'Brien` =
/// `OBRIEN`; DOMAIN.md: spacing and punctuation variants are common).
pub(crate) fn normalise_name(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphabetic())
        .flat_map(char::to_uppercase)
        .collect()
}

/// A phone number's digits.
pub(crate) fn normalise_phone(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

fn at<'a>(col: &Option<Vec<Option<&'a str>>>, row: usize) -> Option<&'a str> {
    col.as_ref().and_then(|c| c[row])
}

/// Every row's address key and display line, `None` when the snapshot has neither
/// `address_line` nor `street`. The key is the normalised address line (or house number and
/// street), unit, locality and postcode; rows without an address have `None`.
pub(crate) fn addresses(snap: &Snapshot) -> Option<Vec<Option<String>>> {
    let line = texts(snap, Field::AddressLine);
    let street = texts(snap, Field::Street);
    if line.is_none() && street.is_none() {
        return None;
    }
    let number = texts(snap, Field::HouseNumber);
    let unit = texts(snap, Field::Unit);
    let locality = texts(snap, Field::Locality);
    let postcode = texts(snap, Field::Postcode);
    Some(
        (0..snap.rows())
            .map(|r| {
                let base = match at(&line, r) {
                    Some(l) => normalise_address(l),
                    None => {
                        let s = at(&street, r)?;
                        normalise_address(&format!("{} {s}", at(&number, r).unwrap_or("")))
                    }
                };
                if base.is_empty() {
                    return None;
                }
                let mut key = base;
                for part in [at(&unit, r), at(&locality, r), at(&postcode, r)] {
                    key.push('|');
                    key.push_str(&normalise_address(part.unwrap_or("")));
                }
                Some(key)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_ignores_case_punctuation_and_spacing() {
        assert_eq!(
            normalise_address(" 12 Main St., Apt #4 "),
            "12 MAIN ST APT 4"
        );
        assert_eq!(normalise_name("Mc Donald"), normalise_name("MCDONALD"));
        assert_eq!(normalise_name("O'Brien"), "OBRIEN");
        assert_eq!(normalise_phone("+1 (982) 838-8743"), "19828388743");
    }

    #[test]
    fn year_only_births_allow_two_ages() {
        let on = crate::dates::parse_iso_date("2026-10-22").unwrap();
        assert_eq!(age_range(Birth::Year(2008), on), Some((17, 18)));
        assert_eq!(age_range(Birth::Unknown, on), None);
    }
}
