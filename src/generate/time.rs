//! Timestamps of edits: office hours on working days for clerks, night-time for the planted
//! burst, and the compact `u32` seconds the register stores.
//!
//! Election offices edit records on weekdays during office hours; an audit trail full of
//! 03:00 edits by one account is exactly what a reviewer should see, so ordinary edits must
//! stay inside 08:00-18:00 Monday to Friday.

use crate::dates::MS_PER_DAY;

use super::rng::Rng;

/// Opening and closing hour of an election office (seconds after midnight): 08:00-18:00.
const OFFICE_OPEN: u32 = 8 * 3600;
const OFFICE_CLOSE: u32 = 18 * 3600;

/// A timestamp: days since 1970 and seconds after midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub day: i32,
    pub second: u32,
}

/// Day of the week, 0 = Monday (1970-01-01 was a Thursday).
pub(crate) fn weekday(day: i32) -> u32 {
    (day + 3).rem_euclid(7) as u32
}

/// The working day on or before `day` (weekends move back to Friday).
pub(crate) fn working_day_on_or_before(day: i32) -> i32 {
    match weekday(day) {
        5 => day - 1,
        6 => day - 2,
        _ => day,
    }
}

/// The working day nearest `day` inside `lo..=hi`: back to Friday from a weekend, forward to
/// Monday if Friday is before `lo`, the day itself if neither fits (a window without weekday).
pub(crate) fn nearest_working_day(day: i32, lo: i32, hi: i32) -> i32 {
    let back = working_day_on_or_before(day);
    if back >= lo {
        return back;
    }
    let forward = day + (7 - weekday(day) as i32) % 7;
    if forward <= hi {
        forward
    } else {
        day
    }
}

/// A random working day in `lo..=hi`.
pub(crate) fn working_day_in(rng: &mut Rng, lo: i32, hi: i32) -> i32 {
    nearest_working_day(rng.range_i32(lo, hi.max(lo)), lo, hi.max(lo))
}

/// A time during office hours on `day` (callers pick working days, see [`working_day_in`]).
pub(crate) fn office_time(rng: &mut Rng, day: i32) -> Stamp {
    Stamp {
        day,
        second: OFFICE_OPEN + rng.below(u64::from(OFFICE_CLOSE - OFFICE_OPEN)) as u32,
    }
}

/// A time between 00:30 and 04:30 on `day`.
pub(crate) fn night_time(rng: &mut Rng, day: i32) -> Stamp {
    Stamp {
        day,
        second: 1800 + rng.below(4 * 3600) as u32,
    }
}

/// Seconds since 1970 as the register stores them (dates before 1970 are never stamped).
pub(crate) fn to_seconds(stamp: Stamp) -> u32 {
    u32::try_from(i64::from(stamp.day) * 86_400 + i64::from(stamp.second))
        .expect("audit timestamps fall between 1970 and 2106")
}

/// The day of a stored timestamp.
pub(crate) fn day_of(seconds: u32) -> i32 {
    (i64::from(seconds) * 1000 / MS_PER_DAY) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::days_from_civil;

    #[test]
    fn office_times_fall_on_weekdays_in_office_hours() {
        let mut rng = Rng::keyed(1, super::super::rng::Stream::Churn, 0, 0);
        // 2026-01-10 is a Saturday.
        let saturday = days_from_civil(2026, 1, 10);
        assert_eq!(weekday(saturday), 5);
        assert_eq!(
            nearest_working_day(saturday, saturday - 3, saturday + 5),
            saturday - 1
        );
        assert_eq!(
            nearest_working_day(saturday, saturday, saturday + 5),
            saturday + 2
        );
        for _ in 0..1000 {
            let day = working_day_in(&mut rng, saturday, saturday + 9);
            assert!(weekday(day) < 5 && (saturday..=saturday + 9).contains(&day));
            let s = office_time(&mut rng, day);
            assert!((8 * 3600..18 * 3600).contains(&s.second));
            assert_eq!(day_of(to_seconds(s)), s.day);
        }
    }
}
