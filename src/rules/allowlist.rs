//! The institutions allowlist (`--allowlist FILE`): addresses where many registrations are
//! expected (dormitories, care homes, barracks, shelters, monasteries).
//!
//! DOMAIN.md: EagleAI wrongly flagged 159 students at one campus address. An address on the
//! list still produces its `R-ADDRESS-CROWDED` finding, at `info`, so the report shows it was
//! seen and why it was not raised.
//!
//! # Format
//! UTF-8 CSV, one address per row: `address_line[,locality[,postcode[,kind]]]`.
//! - `address_line` as the register writes it (with the unit, if the institution has one);
//!   compared after normalisation ([`crate::normalize::push_address_words`]): upper case,
//!   diacritics folded, every run of punctuation and spaces as one space (`12 College Way.` =
//!   `12 COLLEGE WAY`). Abbreviations are not expanded.
//! - `locality`, `postcode`: optional; empty matches any (use them when the same street
//!   address exists in two towns).
//! - `kind`: free text shown in the finding (`dormitory`, `care-home`, `barracks` ...).
//!
//! Blank lines and lines starting with `#` are ignored; a first row whose first cell is
//! `address_line` is a header. Fields may be quoted (`"1 MAIN ST, BLDG 2",SPRINGFIELD`).
//!
//! ## Example
//! ```text
//! address_line,locality,postcode,kind
//! # State university halls
//! 29 COLLEGE WAY,KONHAVEN,10435,dormitory
//! 349 WALNUT LN,,,care-home
//! ```

use crate::normalize::address_words;

/// One allowlisted address, normalised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowlistEntry {
    pub address: String,
    pub locality: Option<String>,
    pub postcode: Option<String>,
    pub kind: Option<String>,
    /// Line in the file, for the finding's evidence.
    pub line: u64,
}

/// The parsed allowlist. Empty by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allowlist {
    pub entries: Vec<AllowlistEntry>,
    /// The file it came from, for evidence.
    pub origin: String,
}

/// Why an allowlist cannot be used: one line naming the file (and line).
#[derive(Debug, thiserror::Error)]
pub enum AllowlistError {
    #[error("allowlist {origin}: line {line}: {why}")]
    Invalid {
        origin: String,
        line: u64,
        why: String,
    },
}

impl Allowlist {
    pub fn parse(text: &str, origin: &str) -> Result<Allowlist, AllowlistError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .comment(Some(b'#'))
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let mut entries = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| AllowlistError::Invalid {
                origin: origin.to_string(),
                line: e.position().map_or(0, |p| p.line()),
                why: "not valid CSV".to_string(),
            })?;
            let line = record.position().map_or(0, |p| p.line());
            let cell = |i: usize| record.get(i).map(address_words).filter(|s| !s.is_empty());
            if record.len() > 4 {
                return Err(AllowlistError::Invalid {
                    origin: origin.to_string(),
                    line,
                    why: format!(
                        "{} fields; expected address_line[,locality[,postcode[,kind]]] \
                         (quote an address that holds a comma)",
                        record.len()
                    ),
                });
            }
            let Some(address) = cell(0) else { continue };
            if entries.is_empty() && address == "ADDRESS LINE" {
                continue;
            }
            entries.push(AllowlistEntry {
                address,
                locality: cell(1),
                postcode: cell(2),
                kind: record.get(3).map(str::to_string).filter(|s| !s.is_empty()),
                line,
            });
        }
        Ok(Allowlist {
            entries,
            origin: origin.to_string(),
        })
    }

    /// The entry matching a normalised address (line and unit), locality and postcode.
    pub fn find(&self, address: &str, locality: &str, postcode: &str) -> Option<&AllowlistEntry> {
        self.entries.iter().find(|e| {
            e.address == address
                && e.locality.as_deref().is_none_or(|l| l == locality)
                && e.postcode.as_deref().is_none_or(|p| p == postcode)
        })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_format() {
        let text = "address_line,locality,postcode,kind\n# halls\n\n29 College Way.,KONHAVEN,10435,dormitory\n\"1 MAIN ST, BLDG 2\"\n";
        let list = Allowlist::parse(text, "a.csv").unwrap();
        assert_eq!(list.entries.len(), 2);
        assert_eq!(list.entries[0].address, "29 COLLEGE WAY");
        assert_eq!(list.entries[0].kind.as_deref(), Some("dormitory"));
        assert!(list.find("29 COLLEGE WAY", "KONHAVEN", "10435").is_some());
        assert!(list.find("29 COLLEGE WAY", "ELSEWHERE", "10435").is_none());
        assert!(list.find("1 MAIN ST BLDG 2", "ANY", "").is_some());
    }

    #[test]
    fn too_many_fields_is_an_error_naming_the_line() {
        let err = Allowlist::parse("1 MAIN ST, BLDG 2,TOWN,1,care,extra\n", "a.csv")
            .unwrap_err()
            .to_string();
        assert!(err.contains("a.csv") && err.contains("line 1"), "{err}");
    }
}
