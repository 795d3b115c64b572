//! The anomaly kinds a user can plant, their magnitudes and the `--anomalies` syntax.
//!
//! Every kind has a default magnitude chosen so that the anomaly is plainly visible in the
//! 20,000-voter sample (see `sample-data/README.md`) and still a needle at 10^7 voters.
//! Magnitudes are fractions of the targeted scope where the anomaly is a rate (a purge) and
//! counts of records where it is a cluster (many registrations at one address).

use std::fmt;
use std::str::FromStr;

/// A kind of planted irregularity. Names are kebab-case on the command line and in
/// `truth.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AnomalyKind {
    /// Removal of one precinct's active voters as "moved". A fraction (default 0.6: 60%) is
    /// removed in three days by one clerk. A count above 1 (`targeted-purge=100`) is the
    /// quiet form: that many voters over a week and a half by two clerks, inside the quiet
    /// period before the election (planted in the last interval).
    TargetedPurge,
    /// Removal of a fraction of one party's active voters across one district, dated inside
    /// the quiet period before the election (default 0.25).
    SkewedPurge,
    /// A fraction of one district's voters of other parties switched to one party
    /// (default 0.12).
    MassPartySwitch,
    /// This many voters of one precinct moved to one single address (default 40).
    AddressRedirect,
    /// This many new registrations at one residential address (default 45).
    BulkRegistration,
    /// Birth dates of this fraction of one district's voters edited (default 0.03).
    BirthDateEdits,
    /// This many records edited after the roll freeze (default 60).
    PostFreezeEdits,
    /// This many edits by one operator between 00:30 and 04:30 in one night (default 120).
    NightBurst,
    /// This many removed records set back to active, deceased ones first (default 80).
    MassReactivation,
    /// This many voter ids of removed records now holding a different person (default 6).
    IdReuse,
    /// This many new registrations sharing one phone, and as many sharing one email
    /// (default 25).
    SharedContact,
    /// This many records with impossible data: placeholder or impossible birth dates,
    /// registration before birth, hostile text (default 24).
    ImplausibleRecords,
    /// Fuzzy duplicates as a fraction of the initial voters (default 0.01): half already in
    /// the first snapshot, half registered later.
    FuzzyDuplicates,
    /// Benign: this many voters re-keyed, removed under one id and added under a new id with
    /// the same name, birth date and address (default 12).
    Rekey,
}

impl AnomalyKind {
    pub const ALL: [AnomalyKind; 14] = [
        AnomalyKind::TargetedPurge,
        AnomalyKind::SkewedPurge,
        AnomalyKind::MassPartySwitch,
        AnomalyKind::AddressRedirect,
        AnomalyKind::BulkRegistration,
        AnomalyKind::BirthDateEdits,
        AnomalyKind::PostFreezeEdits,
        AnomalyKind::NightBurst,
        AnomalyKind::MassReactivation,
        AnomalyKind::IdReuse,
        AnomalyKind::SharedContact,
        AnomalyKind::ImplausibleRecords,
        AnomalyKind::FuzzyDuplicates,
        AnomalyKind::Rekey,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            AnomalyKind::TargetedPurge => "targeted-purge",
            AnomalyKind::SkewedPurge => "skewed-purge",
            AnomalyKind::MassPartySwitch => "mass-party-switch",
            AnomalyKind::AddressRedirect => "address-redirect",
            AnomalyKind::BulkRegistration => "bulk-registration",
            AnomalyKind::BirthDateEdits => "birth-date-edits",
            AnomalyKind::PostFreezeEdits => "post-freeze-edits",
            AnomalyKind::NightBurst => "night-burst",
            AnomalyKind::MassReactivation => "mass-reactivation",
            AnomalyKind::IdReuse => "id-reuse",
            AnomalyKind::SharedContact => "shared-contact",
            AnomalyKind::ImplausibleRecords => "implausible-records",
            AnomalyKind::FuzzyDuplicates => "fuzzy-duplicates",
            AnomalyKind::Rekey => "rekey",
        }
    }

    /// The default magnitude (see each variant).
    pub const fn default_magnitude(self) -> f64 {
        match self {
            AnomalyKind::TargetedPurge => 0.6,
            AnomalyKind::SkewedPurge => 0.25,
            AnomalyKind::MassPartySwitch => 0.12,
            AnomalyKind::AddressRedirect => 40.0,
            AnomalyKind::BulkRegistration => 45.0,
            AnomalyKind::BirthDateEdits => 0.03,
            AnomalyKind::PostFreezeEdits => 60.0,
            AnomalyKind::NightBurst => 120.0,
            AnomalyKind::MassReactivation => 80.0,
            AnomalyKind::IdReuse => 6.0,
            AnomalyKind::SharedContact => 25.0,
            AnomalyKind::ImplausibleRecords => 24.0,
            AnomalyKind::FuzzyDuplicates => 0.01,
            AnomalyKind::Rekey => 12.0,
        }
    }

    /// Whether the magnitude may be a count as well as a fraction (see each variant).
    pub const fn also_counts(self) -> bool {
        matches!(self, AnomalyKind::TargetedPurge)
    }

    /// Whether the magnitude is a fraction (in `(0, 1]`) rather than a count.
    pub const fn is_fraction(self) -> bool {
        matches!(
            self,
            AnomalyKind::TargetedPurge
                | AnomalyKind::SkewedPurge
                | AnomalyKind::MassPartySwitch
                | AnomalyKind::BirthDateEdits
                | AnomalyKind::FuzzyDuplicates
        )
    }

    /// Benign kinds are labelled `benign: true` in `truth.json`.
    pub const fn is_benign(self) -> bool {
        matches!(self, AnomalyKind::Rekey)
    }

    pub fn from_name(name: &str) -> Option<AnomalyKind> {
        AnomalyKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which anomalies to plant, with their magnitudes, in [`AnomalyKind::ALL`] order.
#[derive(Clone, Debug, PartialEq)]
pub struct AnomalySelection {
    pub kinds: Vec<(AnomalyKind, f64)>,
}

impl AnomalySelection {
    /// All kinds at their default magnitudes.
    pub fn all_defaults() -> AnomalySelection {
        AnomalySelection {
            kinds: AnomalyKind::ALL
                .iter()
                .map(|&k| (k, k.default_magnitude()))
                .collect(),
        }
    }

    pub fn none() -> AnomalySelection {
        AnomalySelection { kinds: Vec::new() }
    }

    pub fn magnitude(&self, kind: AnomalyKind) -> Option<f64> {
        self.kinds.iter().find(|(k, _)| *k == kind).map(|&(_, m)| m)
    }
}

impl Default for AnomalySelection {
    fn default() -> Self {
        AnomalySelection::all_defaults()
    }
}

/// An `--anomalies` value that does not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnomalySelectionError {
    #[error("unknown anomaly kind {0:?} (known: {known})", known = known_kinds())]
    UnknownKind(String),
    #[error("bad magnitude {value:?} for {kind}: {why}")]
    BadMagnitude {
        kind: AnomalyKind,
        value: String,
        why: &'static str,
    },
    #[error("anomaly kind {0} given twice")]
    Repeated(AnomalyKind),
}

fn known_kinds() -> String {
    AnomalyKind::ALL.map(|k| k.name()).join(", ")
}

impl FromStr for AnomalySelection {
    type Err = AnomalySelectionError;

    /// `default`, `none`, or `KIND[=MAGNITUDE],KIND...`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "default" | "all" => return Ok(AnomalySelection::all_defaults()),
            "none" | "" => return Ok(AnomalySelection::none()),
            _ => {}
        }
        let mut kinds: Vec<(AnomalyKind, f64)> = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = match part.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (part, None),
            };
            let kind = AnomalyKind::from_name(name)
                .ok_or_else(|| AnomalySelectionError::UnknownKind(name.to_string()))?;
            let magnitude = match value {
                None => kind.default_magnitude(),
                Some(v) => parse_magnitude(kind, v)?,
            };
            if kinds.iter().any(|(k, _)| *k == kind) {
                return Err(AnomalySelectionError::Repeated(kind));
            }
            kinds.push((kind, magnitude));
        }
        kinds.sort_by_key(|(k, _)| *k);
        Ok(AnomalySelection { kinds })
    }
}

fn parse_magnitude(kind: AnomalyKind, v: &str) -> Result<f64, AnomalySelectionError> {
    let bad = |why| AnomalySelectionError::BadMagnitude {
        kind,
        value: v.to_string(),
        why,
    };
    let m: f64 = v.parse().map_err(|_| bad("not a number"))?;
    if !m.is_finite() || m <= 0.0 {
        return Err(bad("must be positive"));
    }
    if kind.also_counts() && m > 1.0 && m.fract() != 0.0 {
        return Err(bad("above 1, a count must be a whole number"));
    }
    if kind.is_fraction() && !kind.also_counts() && m > 1.0 {
        return Err(bad("a fraction must be at most 1"));
    }
    if !kind.is_fraction() && m.fract() != 0.0 {
        return Err(bad("a count must be a whole number"));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in AnomalyKind::ALL {
            assert_eq!(AnomalyKind::from_name(k.name()), Some(k));
        }
    }

    #[test]
    fn selections_parse() {
        assert_eq!("none".parse::<AnomalySelection>().unwrap().kinds, vec![]);
        assert_eq!(
            "default".parse::<AnomalySelection>().unwrap().kinds.len(),
            14
        );
        let s: AnomalySelection = "night-burst=10, targeted-purge".parse().unwrap();
        assert_eq!(
            s.kinds,
            vec![
                (AnomalyKind::TargetedPurge, 0.6),
                (AnomalyKind::NightBurst, 10.0)
            ]
        );
        assert!("bogus".parse::<AnomalySelection>().is_err());
        assert!("targeted-purge=1.5".parse::<AnomalySelection>().is_err());
        assert!("skewed-purge=100".parse::<AnomalySelection>().is_err());
        let quiet: AnomalySelection = "targeted-purge=100".parse().unwrap();
        assert_eq!(quiet.kinds, vec![(AnomalyKind::TargetedPurge, 100.0)]);
        assert!("night-burst=2.5".parse::<AnomalySelection>().is_err());
        assert!("night-burst,night-burst"
            .parse::<AnomalySelection>()
            .is_err());
    }
}
