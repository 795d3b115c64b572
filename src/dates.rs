//! Calendar arithmetic and the date formats register exports use.
//!
//! Dates are days since 1970-01-01 (`i32`, Arrow's `Date`) and timestamps are milliseconds
//! since 1970-01-01T00:00:00 without a zone (Arrow's `Datetime(ms)`): registers record local
//! office time, and rollaudit never converts it.
//!
//! Parsing is hand-written rather than chrono's `parse_from_str` because it runs once per
//! date field per row on 10^8-row files; a format is compiled once into [`DateFormat`] and then
//! matched byte by byte. Impossible dates (31/02/2020, 0000-00-00) are parse errors, which the
//! loader turns into rejected rows.

use std::fmt;

/// Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day count from 1970-01-01 (inverse of [`days_from_civil`]).
pub fn civil_from_days(days: i32) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Day count for a date, or `None` when the date does not exist (month 13, 31 February, year 0).
pub fn checked_days(year: i32, month: u32, day: u32) -> Option<i32> {
    if year < 1 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// A date as `YYYY-MM-DD`.
pub struct IsoDate(pub i32);

impl fmt::Display for IsoDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = civil_from_days(self.0);
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

/// A timestamp in milliseconds as `YYYY-MM-DDTHH:MM:SS`.
pub struct IsoTimestamp(pub i64);

pub const MS_PER_DAY: i64 = 86_400_000;

impl fmt::Display for IsoTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(MS_PER_DAY);
        let ms = self.0.rem_euclid(MS_PER_DAY);
        let secs = ms / 1000;
        write!(
            f,
            "{}T{:02}:{:02}:{:02}",
            IsoDate(days as i32),
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

/// Parses `YYYY-MM-DD` strictly.
pub fn parse_iso_date(s: &str) -> Option<i32> {
    DateFormat::ISO_DATE.parse_date(s)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Piece {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Literal(u8),
    /// `[`: what follows may be absent at the end of the value.
    Optional,
}

/// A compiled `strftime`-like format: `%Y` (4 digits), `%m`, `%d`, `%H`, `%M`, `%S` (1 or 2
/// digits, so `3/7/2019` parses with `%m/%d/%Y`) and literal ASCII bytes. A bracketed tail
/// is optional: `%Y-%m-%d[ %H:%M:%S]` reads `2022-11-08` and `2011-10-31 00:00:00` (an
/// export whose older files carry a time of day). Parsing is strict otherwise: the whole
/// input must match and the date must exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DateFormat {
    pieces: Vec<Piece>,
    source: String,
}

/// A format string that [`DateFormat::compile`] does not understand.
#[derive(Debug, thiserror::Error)]
#[error("unsupported date format {format:?}: {why}")]
pub struct DateFormatError {
    pub format: String,
    pub why: &'static str,
}

impl DateFormat {
    /// `%Y-%m-%d`, the canonical layout.
    pub const ISO_DATE: DateFormat = DateFormat {
        pieces: Vec::new(),
        source: String::new(),
    };

    pub fn compile(format: &str) -> Result<DateFormat, DateFormatError> {
        let err = |why| DateFormatError {
            format: format.to_string(),
            why,
        };
        let mut pieces = Vec::new();
        let mut bytes = format.bytes();
        while let Some(b) = bytes.next() {
            if b == b'[' {
                if pieces.contains(&Piece::Optional) {
                    return Err(err("only one optional [...] tail"));
                }
                pieces.push(Piece::Optional);
                let rest: Vec<u8> = bytes.clone().collect();
                if rest.last() != Some(&b']') || rest[..rest.len() - 1].contains(&b']') {
                    return Err(err("an optional [...] part must end the format"));
                }
                continue;
            }
            if b == b']' && pieces.contains(&Piece::Optional) {
                continue;
            }
            if b != b'%' {
                if !b.is_ascii() {
                    return Err(err("only ASCII literals are supported"));
                }
                pieces.push(Piece::Literal(b));
                continue;
            }
            pieces.push(match bytes.next() {
                Some(b'Y') => Piece::Year,
                Some(b'm') => Piece::Month,
                Some(b'd') => Piece::Day,
                Some(b'H') => Piece::Hour,
                Some(b'M') => Piece::Minute,
                Some(b'S') => Piece::Second,
                Some(b'%') => Piece::Literal(b'%'),
                _ => return Err(err("directives are %Y %m %d %H %M %S and %%")),
            });
        }
        for needed in [Piece::Year, Piece::Month, Piece::Day] {
            if !pieces.contains(&needed) {
                return Err(err("a date format needs %Y, %m and %d"));
            }
        }
        Ok(DateFormat {
            pieces,
            source: format.to_string(),
        })
    }

    /// The format string this was compiled from.
    pub fn as_str(&self) -> &str {
        if self.pieces.is_empty() {
            "%Y-%m-%d"
        } else {
            &self.source
        }
    }

    /// Parses a date; time pieces, if the format has them, must be present and valid but are
    /// dropped.
    pub fn parse_date(&self, s: &str) -> Option<i32> {
        self.parse_parts(s).map(|(days, _)| days)
    }

    /// Parses a timestamp in milliseconds. A format without time pieces gives midnight.
    pub fn parse_timestamp(&self, s: &str) -> Option<i64> {
        self.parse_parts(s)
            .map(|(days, secs)| days as i64 * MS_PER_DAY + secs as i64 * 1000)
    }

    fn parse_parts(&self, s: &str) -> Option<(i32, u32)> {
        if self.pieces.is_empty() {
            return parse_iso_fast(s.as_bytes()).map(|d| (d, 0));
        }
        let b = s.as_bytes();
        let mut pos = 0;
        let (mut y, mut mo, mut d, mut h, mut mi, mut se) = (0i32, 0u32, 0u32, 0u32, 0u32, 0u32);
        for piece in &self.pieces {
            match *piece {
                Piece::Optional if pos == b.len() => break,
                Piece::Optional => {}
                Piece::Literal(c) => {
                    if b.get(pos) != Some(&c) {
                        return None;
                    }
                    pos += 1;
                }
                Piece::Year => {
                    y = digits(b, &mut pos, 4, 4)? as i32;
                }
                Piece::Month => mo = digits(b, &mut pos, 1, 2)?,
                Piece::Day => d = digits(b, &mut pos, 1, 2)?,
                Piece::Hour => h = digits(b, &mut pos, 1, 2)?,
                Piece::Minute => mi = digits(b, &mut pos, 1, 2)?,
                Piece::Second => se = digits(b, &mut pos, 1, 2)?,
            }
        }
        if pos != b.len() || h > 23 || mi > 59 || se > 59 {
            return None;
        }
        Some((checked_days(y, mo, d)?, h * 3600 + mi * 60 + se))
    }
}

fn digits(b: &[u8], pos: &mut usize, min: usize, max: usize) -> Option<u32> {
    let mut value = 0u32;
    let start = *pos;
    while *pos < b.len() && *pos - start < max && b[*pos].is_ascii_digit() {
        value = value * 10 + u32::from(b[*pos] - b'0');
        *pos += 1;
    }
    (*pos - start >= min).then_some(value)
}

fn parse_iso_fast(b: &[u8]) -> Option<i32> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    checked_days(num(0..4)? as i32, num(5..7)?, num(8..10)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_over_three_centuries() {
        for days in -80_000..80_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn known_day_counts() {
        // Independent values: 2000-03-01 is day 11017 (Unix epoch arithmetic), 1900-01-01 is -25567.
        assert_eq!(parse_iso_date("1970-01-01"), Some(0));
        assert_eq!(parse_iso_date("2000-03-01"), Some(11_017));
        assert_eq!(parse_iso_date("1900-01-01"), Some(-25_567));
    }

    #[test]
    fn impossible_dates_do_not_parse() {
        for bad in [
            "0000-00-00",
            "2020-02-30",
            "2019-02-29",
            "2020-13-01",
            "2020-1-01",
            "2020-01-01x",
        ] {
            assert_eq!(parse_iso_date(bad), None, "{bad}");
        }
        assert!(parse_iso_date("2020-02-29").is_some());
        let dmy = DateFormat::compile("%d/%m/%Y").unwrap();
        assert_eq!(dmy.parse_date("31/02/2020"), None);
        assert_eq!(dmy.parse_date("29/02/2020"), parse_iso_date("2020-02-29"));
    }

    #[test]
    fn us_dates_with_and_without_leading_zeros() {
        let us = DateFormat::compile("%m/%d/%Y").unwrap();
        assert_eq!(us.parse_date("03/07/2019"), parse_iso_date("2019-03-07"));
        assert_eq!(us.parse_date("3/7/2019"), parse_iso_date("2019-03-07"));
        assert_eq!(us.parse_date("3/7/19"), None);
    }

    #[test]
    fn timestamps() {
        let f = DateFormat::compile("%Y-%m-%dT%H:%M:%S").unwrap();
        let ms = f.parse_timestamp("2024-05-06T23:59:58").unwrap();
        assert_eq!(IsoTimestamp(ms).to_string(), "2024-05-06T23:59:58");
        assert_eq!(f.parse_timestamp("2024-05-06T24:00:00"), None);
    }

    #[test]
    fn bad_formats_are_refused() {
        assert!(DateFormat::compile("%Y-%m").is_err());
        assert!(DateFormat::compile("%Y-%m-%d %Z").is_err());
        assert!(DateFormat::compile("%Y-%m-%d[ %H").is_err());
        assert!(DateFormat::compile("[%H ]%Y-%m-%d").is_err());
        assert!(DateFormat::compile("%Y-%m-%d[ %H][:%M]").is_err());
    }

    #[test]
    fn an_optional_time_of_day_may_be_absent() {
        let f = DateFormat::compile("%Y-%m-%d[ %H:%M:%S]").unwrap();
        let day = parse_iso_date("2011-10-31").unwrap();
        assert_eq!(f.parse_date("2011-10-31"), Some(day));
        assert_eq!(f.parse_date("2011-10-31 00:00:00"), Some(day));
        assert_eq!(
            f.parse_timestamp("2011-10-31 13:05:09"),
            Some(day as i64 * MS_PER_DAY + (13 * 3600 + 5 * 60 + 9) * 1000)
        );
        // Present, it must be whole and valid; nothing else may follow the date.
        assert_eq!(f.parse_date("2011-10-31 00:00"), None);
        assert_eq!(f.parse_date("2011-10-31 24:00:00"), None);
        assert_eq!(f.parse_date("2011-10-31x"), None);
        assert_eq!(f.as_str(), "%Y-%m-%d[ %H:%M:%S]");
    }
}
