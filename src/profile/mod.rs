//! Profiles: how one source layout maps onto the canonical model.
//!
//! A profile is a small TOML file (format in docs/profiles.md, examples in `canonical.toml` and
//! `ncvoter.toml` beside this file). It is parsed and validated here, once, into a
//! [`Profile`]; the loader only ever sees the validated form. Unknown keys and wrong types are
//! errors that name the file and the key: a typo in a profile must not silently drop a column.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use crate::dates::{DateFormat, DateFormatError};
use crate::model::{Field, FieldKind, Status};

/// Built-in profiles: (name, TOML text). Each layout of a real export opens with a comment
/// naming the published document it was written from and what could not be confirmed.
const BUILTIN: [(&str, &str); 7] = [
    ("canonical", include_str!("canonical.toml")),
    ("ncvoter", include_str!("ncvoter.toml")),
    ("nc_vr_snapshot", include_str!("nc_vr_snapshot.toml")),
    ("fl_voter_extract", include_str!("fl_voter_extract.toml")),
    ("mi_qvf", include_str!("mi_qvf.toml")),
    ("ny_voter_list", include_str!("ny_voter_list.toml")),
    ("oh_swvf", include_str!("oh_swvf.toml")),
];

/// Text encodings a profile can declare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Encoding {
    #[serde(rename = "utf-8", alias = "utf8")]
    Utf8,
    /// Decoded as windows-1252, the superset of ISO-8859-1 that real "Latin-1" exports use
    /// (curly quotes in 0x80..0x9F instead of C1 control codes).
    #[serde(rename = "latin-1", alias = "latin1", alias = "iso-8859-1")]
    Latin1,
    /// UTF-16 with a byte-order mark.
    #[serde(rename = "utf-16", alias = "utf16")]
    Utf16,
    #[serde(rename = "utf-16le")]
    Utf16Le,
    #[serde(rename = "utf-16be")]
    Utf16Be,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Latin1 => "latin-1",
            Encoding::Utf16 => "utf-16",
            Encoding::Utf16Le => "utf-16le",
            Encoding::Utf16Be => "utf-16be",
        }
    }
}

/// Where a canonical field comes from in the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColumnRef {
    /// Header names, first one present wins (layouts rename columns over the years).
    Names(Vec<String>),
    /// A 1-based column position, for headerless files.
    Position(usize),
    /// `birth_year` derived from an age column and the date it was taken on (a snapshot date
    /// column, read with the profile's `date_format`): the year of that date minus the age.
    /// Approximate: the true year is that or the one before (a birthday still to come), so
    /// the load reports the field as derived, and rules already allow a year's either side.
    AgeOn {
        age: String,
        on: String,
        format: DateFormat,
    },
    /// A fixed-width column: `length` characters from the 1-based character position `start`.
    /// A profile's columns are all spans or none.
    Span { start: usize, length: usize },
    /// Several columns whose values are joined with single spaces, empty parts skipped: an
    /// address a layout publishes only as parts (number, direction, street, type, unit). The
    /// parts are header names (absent ones skipped; with none present the field is missing),
    /// positions in a headerless file, or spans of a fixed-width one.
    Join(Vec<JoinPart>),
}

/// One column of a [`ColumnRef::Join`]: named as the profile's other columns are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JoinPart {
    Name(String),
    /// 1-based.
    Position(usize),
    Span {
        start: usize,
        length: usize,
    },
}

impl fmt::Display for JoinPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinPart::Name(name) => write!(f, "{name}"),
            JoinPart::Position(p) => write!(f, "column {p}"),
            JoinPart::Span { start, length } => {
                write!(f, "characters {start} to {}", start + length - 1)
            }
        }
    }
}

impl ColumnRef {
    /// The column is cut from a fixed-width line: a span, or a join of spans.
    fn is_span(&self) -> bool {
        match self {
            ColumnRef::Span { .. } => true,
            ColumnRef::Join(parts) => parts.iter().any(|p| matches!(p, JoinPart::Span { .. })),
            _ => false,
        }
    }

    /// The column can be found without a header: a position, a span, or a join of those.
    fn needs_no_header(&self) -> bool {
        match self {
            ColumnRef::Position(_) | ColumnRef::Span { .. } => true,
            ColumnRef::Join(parts) => parts.iter().all(|p| !matches!(p, JoinPart::Name(_))),
            _ => false,
        }
    }
}

impl fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnRef::Names(names) => write!(f, "{}", names.join(" or ")),
            ColumnRef::Position(p) => write!(f, "column {p}"),
            ColumnRef::Join(parts) => {
                let parts: Vec<String> = parts.iter().map(ToString::to_string).collect();
                write!(f, "{}", parts.join(" + "))
            }
            ColumnRef::AgeOn { age, on, .. } => write!(f, "{on} minus {age}"),
            ColumnRef::Span { start, length } => {
                write!(f, "characters {start} to {}", start + length - 1)
            }
        }
    }
}

/// A validated profile.
#[derive(Clone, Debug)]
pub struct Profile {
    pub name: String,
    pub description: String,
    /// The published layout document the profile was written from, if any.
    pub source: Option<String>,
    pub delimiter: u8,
    pub quote: u8,
    pub encoding: Encoding,
    pub header: bool,
    /// Trimmed values equal to one of these are missing.
    pub null_markers: Vec<String>,
    /// Canonical field -> source column. Empty means: match header names to canonical names.
    pub columns: BTreeMap<Field, ColumnRef>,
    /// Canonical field -> (source value -> canonical value). An empty target means missing.
    pub values: BTreeMap<Field, BTreeMap<String, String>>,
    /// Date format per date or timestamp field (all of them filled in, defaults applied).
    pub date_formats: BTreeMap<Field, DateFormat>,
    /// Where the profile came from: `builtin:NAME` or the file path.
    pub origin: String,
    /// The TOML text, kept so reports can cite its digest.
    pub text: String,
}

/// Why a profile could not be used. Each variant says which profile and which key.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error(
        "unknown profile {0:?} (built-in profiles: {names}; or give a path to a .toml file)",
        names = Profile::builtin_names().collect::<Vec<_>>().join(", ")
    )]
    Unknown(String),
    /// TOML syntax, an unknown key or a wrong type. The parser's message is kept without its
    /// multi-line source excerpt, so the error stays one line.
    #[error("profile {origin}: line {line}: {message}")]
    Syntax {
        origin: String,
        line: usize,
        message: String,
    },
    #[error("profile {origin}: {key}: {why}")]
    Invalid {
        origin: String,
        key: String,
        why: String,
    },
    #[error("profile {origin}: {key}")]
    Date {
        origin: String,
        key: String,
        #[source]
        source: DateFormatError,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default = "default_delimiter")]
    delimiter: String,
    #[serde(default = "default_quote")]
    quote: String,
    #[serde(default = "default_encoding")]
    encoding: Encoding,
    #[serde(default = "default_true")]
    header: bool,
    #[serde(default = "default_null_markers")]
    null_markers: Vec<String>,
    #[serde(default = "default_date_format")]
    date_format: String,
    #[serde(default = "default_timestamp_format")]
    timestamp_format: String,
    /// Per-field overrides of `date_format` / `timestamp_format`.
    #[serde(default)]
    dates: BTreeMap<String, String>,
    #[serde(default)]
    columns: BTreeMap<String, RawColumnRef>,
    #[serde(default)]
    values: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawColumnRef {
    Name(String),
    Names(Vec<String>),
    Position(i64),
    Join { join: Vec<RawJoinPart> },
    AgeOn { age: String, on: String },
    Span { start: i64, length: i64 },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawJoinPart {
    Name(String),
    Position(i64),
    Span { start: i64, length: i64 },
}

fn default_delimiter() -> String {
    ",".into()
}
fn default_quote() -> String {
    "\"".into()
}
fn default_encoding() -> Encoding {
    Encoding::Utf8
}
fn default_true() -> bool {
    true
}
fn default_null_markers() -> Vec<String> {
    vec![String::new()]
}
fn default_date_format() -> String {
    "%Y-%m-%d".into()
}
fn default_timestamp_format() -> String {
    "%Y-%m-%dT%H:%M:%S".into()
}

impl Profile {
    /// The built-in profile names.
    pub fn builtin_names() -> impl Iterator<Item = &'static str> {
        BUILTIN.iter().map(|(name, _)| *name)
    }

    /// The built-in profile `name`, if there is one.
    pub fn builtin(name: &str) -> Option<Profile> {
        let (name, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
        let origin = format!("builtin:{name}");
        Some(Profile::parse(text, &origin).expect("the built-in profiles are valid (tested)"))
    }

    /// Whether a `--profile` value names a TOML file rather than a built-in profile: it ends
    /// in `.toml` or contains a path separator. The caller reads the file (`load::read_config`)
    /// and hands its text to [`Profile::parse`]; any other unknown name is
    /// [`ProfileError::Unknown`].
    pub fn names_a_file(spec: &str) -> bool {
        spec.ends_with(".toml") || spec.contains(std::path::MAIN_SEPARATOR)
    }

    /// The layout is fixed-width: its columns are character spans, not delimited fields.
    pub fn is_fixed_width(&self) -> bool {
        self.columns.values().any(ColumnRef::is_span)
    }

    pub fn canonical() -> Profile {
        Profile::builtin("canonical").expect("canonical is built in")
    }

    /// Parses and validates profile TOML; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Profile, ProfileError> {
        let raw: ProfileFile = toml::from_str(text).map_err(|e| ProfileError::Syntax {
            origin: origin.to_string(),
            line: e.span().map_or(1, |span| {
                1 + text[..span.start.min(text.len())].matches('\n').count()
            }),
            message: e.message().trim().to_string(),
        })?;
        let invalid = |key: &str, why: String| ProfileError::Invalid {
            origin: origin.to_string(),
            key: key.to_string(),
            why,
        };
        let delimiter = single_byte(&raw.delimiter).ok_or_else(|| {
            invalid(
                "delimiter",
                "must be one ASCII character (use \"\\t\" for tab)".into(),
            )
        })?;
        let quote = single_byte(&raw.quote)
            .ok_or_else(|| invalid("quote", "must be one ASCII character".into()))?;
        if quote == delimiter {
            return Err(invalid("quote", "must differ from the delimiter".into()));
        }

        let mut columns = BTreeMap::new();
        for (key, column) in raw.columns {
            let field =
                canonical_field(&key).map_err(|why| invalid(&format!("columns.{key}"), why))?;
            let column = match column {
                RawColumnRef::Name(name) => ColumnRef::Names(vec![name]),
                RawColumnRef::Names(names) if !names.is_empty() => ColumnRef::Names(names),
                RawColumnRef::Names(_) => {
                    return Err(invalid(
                        &format!("columns.{key}"),
                        "empty list of names".into(),
                    ))
                }
                RawColumnRef::Position(p) if p >= 1 => ColumnRef::Position(p as usize),
                RawColumnRef::Position(_) => {
                    return Err(invalid(
                        &format!("columns.{key}"),
                        "positions start at 1".into(),
                    ))
                }
                RawColumnRef::Join { join } if join.is_empty() => {
                    return Err(invalid(
                        &format!("columns.{key}"),
                        "empty list of columns to join".into(),
                    ))
                }
                RawColumnRef::Join { .. } if field.kind() != FieldKind::Text => {
                    return Err(invalid(
                        &format!("columns.{key}"),
                        "only text fields can be joined from several columns".into(),
                    ))
                }
                RawColumnRef::Join { join } => ColumnRef::Join(
                    join.into_iter()
                        .map(join_part)
                        .collect::<Result<_, _>>()
                        .map_err(|why| invalid(&format!("columns.{key}"), why))?,
                ),
                RawColumnRef::Span { start, length } if start >= 1 && length >= 1 => {
                    ColumnRef::Span {
                        start: start as usize,
                        length: length as usize,
                    }
                }
                RawColumnRef::Span { .. } => {
                    return Err(invalid(
                        &format!("columns.{key}"),
                        "a fixed-width column needs start >= 1 and length >= 1".into(),
                    ))
                }
                RawColumnRef::AgeOn { .. } if field != Field::BirthYear => {
                    return Err(invalid(
                        &format!("columns.{key}"),
                        "only birth_year can be derived from an age".into(),
                    ))
                }
                RawColumnRef::AgeOn { age, on } => ColumnRef::AgeOn {
                    age,
                    on,
                    format: DateFormat::compile(&raw.date_format).map_err(|source| {
                        ProfileError::Date {
                            origin: origin.to_string(),
                            key: "date_format".into(),
                            source,
                        }
                    })?,
                },
            };
            if !raw.header && !column.needs_no_header() {
                return Err(invalid(
                    &format!("columns.{key}"),
                    "a file without a header needs column positions, not names".into(),
                ));
            }
            columns.insert(field, column);
        }
        if !raw.header && !columns.contains_key(&Field::VoterId) {
            return Err(invalid(
                "columns.voter_id",
                "a file without a header must say which column holds voter_id".into(),
            ));
        }

        let mut values = BTreeMap::new();
        for (key, map) in raw.values {
            let field =
                canonical_field(&key).map_err(|why| invalid(&format!("values.{key}"), why))?;
            if !matches!(field.kind(), FieldKind::Text | FieldKind::Status) {
                return Err(invalid(
                    &format!("values.{key}"),
                    "value maps apply to text fields and status only".into(),
                ));
            }
            if field == Field::Status {
                for (code, target) in &map {
                    if !target.is_empty() && Status::from_name(target).is_none() {
                        return Err(invalid(
                            &format!("values.status.{code}"),
                            format!("{target:?} is not one of active, inactive, removed, pending"),
                        ));
                    }
                }
            }
            values.insert(field, map);
        }

        let spans = columns.values().filter(|c| c.is_span()).count();
        let mixed_join = columns.values().any(|c| match c {
            ColumnRef::Join(parts) => {
                c.is_span() && !parts.iter().all(|p| matches!(p, JoinPart::Span { .. }))
            }
            _ => false,
        });
        if mixed_join || (spans > 0 && spans < columns.len()) {
            return Err(invalid(
                "columns",
                "a fixed-width layout gives every column as { start, length }".into(),
            ));
        }

        let mut date_formats = BTreeMap::new();
        for field in Field::ALL {
            let default = match field.kind() {
                FieldKind::Date => &raw.date_format,
                FieldKind::Timestamp => &raw.timestamp_format,
                _ => continue,
            };
            let text = raw.dates.get(field.name()).unwrap_or(default);
            let format = DateFormat::compile(text).map_err(|source| ProfileError::Date {
                origin: origin.to_string(),
                key: format!("date format of {}", field.name()),
                source,
            })?;
            date_formats.insert(field, format);
        }
        for key in raw.dates.keys() {
            match canonical_field(key) {
                Ok(f) if matches!(f.kind(), FieldKind::Date | FieldKind::Timestamp) => {}
                _ => {
                    return Err(invalid(
                        &format!("dates.{key}"),
                        "not a date or timestamp field".into(),
                    ))
                }
            }
        }

        Ok(Profile {
            name: raw.name,
            description: raw.description,
            source: raw.source,
            delimiter,
            quote,
            encoding: raw.encoding,
            header: raw.header,
            null_markers: raw
                .null_markers
                .iter()
                .map(|m| m.trim().to_string())
                .collect(),
            columns,
            values,
            date_formats,
            origin: origin.to_string(),
            text: text.to_string(),
        })
    }
}

fn join_part(raw: RawJoinPart) -> Result<JoinPart, String> {
    match raw {
        RawJoinPart::Name(name) => Ok(JoinPart::Name(name)),
        RawJoinPart::Position(p) if p >= 1 => Ok(JoinPart::Position(p as usize)),
        RawJoinPart::Position(_) => Err("positions start at 1".into()),
        RawJoinPart::Span { start, length } if start >= 1 && length >= 1 => Ok(JoinPart::Span {
            start: start as usize,
            length: length as usize,
        }),
        RawJoinPart::Span { .. } => {
            Err("a fixed-width column needs start >= 1 and length >= 1".into())
        }
    }
}

fn single_byte(s: &str) -> Option<u8> {
    let s = if s == "tab" { "\t" } else { s };
    (s.len() == 1 && s.is_ascii()).then(|| s.as_bytes()[0])
}

fn canonical_field(name: &str) -> Result<Field, String> {
    Field::from_name(name).ok_or_else(|| {
        let names: Vec<_> = Field::ALL.iter().map(|f| f.name()).collect();
        format!("not a canonical field (fields: {})", names.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse() {
        for name in Profile::builtin_names() {
            let p = Profile::builtin(name).unwrap();
            assert_eq!(p.name, name);
            // Every layout of a real export names its published layout document.
            assert!(name == "canonical" || p.source.is_some(), "{name}");
        }
        let nc = Profile::builtin("ncvoter").unwrap();
        assert_eq!(nc.delimiter, b'\t');
        assert_eq!(nc.encoding, Encoding::Latin1);
        assert_eq!(
            nc.columns[&Field::VoterId],
            ColumnRef::Names(vec!["ncid".into()])
        );
        assert_eq!(nc.values[&Field::Status]["D"], "removed");
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_key() {
        let err = Profile::parse("name = \"x\"\ndelimeter = \";\"\n", "x.toml").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("profile x.toml: line 2: unknown field `delimeter`"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 1);
    }

    #[test]
    fn wrong_types_are_errors() {
        assert!(Profile::parse("name = \"x\"\nheader = \"yes\"\n", "x").is_err());
        assert!(Profile::parse("name = 3\n", "x").is_err());
    }

    #[test]
    fn invalid_values_name_the_key() {
        let cases = [
            ("name = \"x\"\ndelimiter = \";;\"\n", "delimiter"),
            (
                "name = \"x\"\n[columns]\nvoterid = \"a\"\n",
                "columns.voterid",
            ),
            (
                "name = \"x\"\n[columns]\nvoter_id = 0\n",
                "columns.voter_id",
            ),
            (
                "name = \"x\"\n[values.status]\nA = \"alive\"\n",
                "values.status.A",
            ),
            ("name = \"x\"\nheader = false\n", "columns.voter_id"),
            ("name = \"x\"\ndate_format = \"%d.%m\"\n", "birth_date"),
        ];
        for (text, key) in cases {
            let err = Profile::parse(text, "p.toml").unwrap_err();
            assert!(err.to_string().contains(key), "{text:?}: {err}");
        }
    }

    #[test]
    fn unknown_profile_name() {
        assert!(Profile::builtin("ohio").is_none());
        // The error lists every built-in, from the one list.
        let text = ProfileError::Unknown("ohio".into()).to_string();
        for name in Profile::builtin_names() {
            assert!(text.contains(name), "{name}: {text}");
        }
        assert!(!Profile::names_a_file("ohio"));
        assert!(Profile::names_a_file("ohio.toml"));
        assert!(Profile::names_a_file(&format!(
            "layouts{}ohio",
            std::path::MAIN_SEPARATOR
        )));
    }
}
