//! The snapshot dates and the synthetic election calendar written to `election.toml`.
//!
//! The calendar is placed so that the last interval between snapshots crosses the dates the
//! rules care about: the registration cutoff, the roll freeze and the start of the legal quiet
//! period (US NVRA: no systematic removals within 90 days of a federal election). Routine
//! edits in the last interval stop at the freeze; only planted anomalies break it.

use std::fmt::Write as _;

use crate::dates::IsoDate;

/// Days from the last snapshot to election day: the final roll is exported about three weeks
/// before the vote.
const ELECTION_AFTER_LAST_SNAPSHOT: i32 = 20;
/// Days before election day when the roll freezes (records must not be edited after it).
const FREEZE_BEFORE_ELECTION: i32 = 45;
/// Days before election day when registration closes (29 days in many US states, earlier
/// here so that claims and objections fit between cutoff and freeze).
const CUTOFF_BEFORE_ELECTION: i32 = 60;
/// The NVRA quiet period: no systematic removals within 90 days of a federal election.
pub(crate) const QUIET_PERIOD_DAYS: i32 = 90;
/// Days the registration phase runs before the first snapshot.
const REGISTRATION_PHASE_BEFORE_START: i32 = 365;

/// Snapshot dates and the election calendar.
#[derive(Clone, Debug)]
pub(crate) struct Calendar {
    pub snapshots: Vec<i32>,
    pub election_day: i32,
    pub roll_freeze: i32,
    pub registration_cutoff: i32,
    pub quiet_start: i32,
}

impl Calendar {
    /// The calendar for `count` snapshots `interval` days apart from `start`. Freeze and
    /// cutoff are pulled into the last interval when intervals are short.
    pub(crate) fn new(start: i32, count: usize, interval: u32) -> Calendar {
        let snapshots: Vec<i32> = (0..count)
            .map(|k| start + k as i32 * interval as i32)
            .collect();
        let last = *snapshots.last().expect("at least one snapshot");
        let election_day = last + ELECTION_AFTER_LAST_SNAPSHOT;
        let previous = if count > 1 {
            snapshots[count - 2]
        } else {
            last - interval as i32
        };
        // Both must fall strictly inside (previous, last].
        let inside = |d: i32| d.clamp(previous + 1, last);
        let roll_freeze = inside(election_day - FREEZE_BEFORE_ELECTION).max(previous + 2);
        let registration_cutoff =
            inside(election_day - CUTOFF_BEFORE_ELECTION).min(roll_freeze - 1);
        Calendar {
            snapshots,
            election_day,
            roll_freeze: roll_freeze.min(last),
            registration_cutoff,
            quiet_start: election_day - QUIET_PERIOD_DAYS,
        }
    }

    /// `election.toml` in the format the rules engine reads.
    pub(crate) fn to_toml(&self) -> String {
        let mut s = String::new();
        let first = self.snapshots[0];
        let _ = writeln!(s, "# Election calendar (synthetic). Dates are YYYY-MM-DD.");
        let _ = writeln!(s, "name = \"Synthetic general election\"");
        let _ = writeln!(s, "election_day = \"{}\"", IsoDate(self.election_day));
        let _ = writeln!(s, "roll_freeze = \"{}\"", IsoDate(self.roll_freeze));
        let _ = writeln!(
            s,
            "registration_cutoff = \"{}\"",
            IsoDate(self.registration_cutoff)
        );
        let _ = writeln!(s, "quiet_period_days = {QUIET_PERIOD_DAYS}");
        let phases = [
            (
                "registration",
                first - REGISTRATION_PHASE_BEFORE_START,
                self.registration_cutoff,
            ),
            (
                "claims_and_objections",
                self.registration_cutoff + 1,
                self.roll_freeze,
            ),
            ("final_roll", self.roll_freeze + 1, self.election_day - 1),
            ("election_day", self.election_day, self.election_day),
        ];
        for (name, start, end) in phases {
            let _ = writeln!(s, "\n[[phases]]");
            let _ = writeln!(s, "name = \"{name}\"");
            let _ = writeln!(s, "start = \"{}\"", IsoDate(start));
            let _ = writeln!(s, "end = \"{}\"", IsoDate(end));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::days_from_civil;

    #[test]
    fn the_last_interval_crosses_cutoff_freeze_and_quiet_start() {
        for interval in [7, 30, 90, 365] {
            let start = days_from_civil(2026, 1, 5);
            let c = Calendar::new(start, 4, interval);
            let (prev, last) = (c.snapshots[2], c.snapshots[3]);
            assert!(prev < c.registration_cutoff && c.registration_cutoff < c.roll_freeze);
            assert!(c.roll_freeze <= last, "interval {interval}");
            assert!(c.quiet_start <= last && c.election_day > last);
        }
    }

    #[test]
    fn toml_has_the_documented_keys() {
        let c = Calendar::new(days_from_civil(2026, 1, 5), 4, 90);
        let t = c.to_toml();
        // Last snapshot 2026-01-05 + 3 * 90 days = 2026-10-02; election 20 days later; freeze
        // 45 days before the election; cutoff 60 days before (dates checked with Python's
        // datetime).
        assert!(t.contains("election_day = \"2026-10-22\""), "{t}");
        assert!(t.contains("roll_freeze = \"2026-09-07\""), "{t}");
        assert!(t.contains("registration_cutoff = \"2026-08-23\""), "{t}");
        assert!(t.contains("quiet_period_days = 90"));
        assert_eq!(t.matches("[[phases]]").count(), 4);
    }
}
