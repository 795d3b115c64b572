//! The benign mass events: uniform list maintenance and a redistricting.
//!
//! Both change thousands of records at once and both are legitimate (DOMAIN.md: "routine,
//! explainable mass events must not raise alarms on their own"). They are labelled
//! `benign: true` in `truth.json` so that a detector that flags them can be counted as
//! crying wolf. Both are batch jobs: the `SYSTEM` account, one timestamp for all rows.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::anomalies::Planted;
use super::churn::Interval;
use super::geography::{system_operator, Geography};
use super::population::{Register, INACTIVE, REMOVED, R_INACTIVITY};
use super::rng::{Rng, Stream};
use super::time::{to_seconds, working_day_in, Stamp};

/// Share of long-inactive voters removed by list maintenance, the same in every district (the
/// NVRA process removes inactive voters after two federal elections without contact; a
/// uniform rate is what makes it benign).
const LIST_MAINTENANCE_RATE: f64 = 0.5;
/// Inactive for at least this many days before the interval starts counts as long-inactive.
const LONG_INACTIVE_DAYS: i32 = 180;
/// Batch jobs run at 09:00:00 sharp.
const BATCH_SECOND: u32 = 9 * 3600;

/// Removes half the long-inactive voters, everywhere alike, in one batch.
pub(crate) fn list_maintenance(
    seed: u64,
    geo: &Geography,
    reg: &mut Register,
    iv: Interval,
) -> Planted {
    let mut rng = Rng::keyed(seed, Stream::Anomaly, iv.index as u64 + 1, 1000);
    let day = working_day_in(&mut rng, iv.from + 5, iv.last_edit.min(iv.from + 40));
    let stamp = to_seconds(Stamp {
        day,
        second: BATCH_SECOND,
    });
    let cutoff = to_seconds(Stamp {
        day: iv.from - LONG_INACTIVE_DAYS,
        second: 0,
    });
    let system = system_operator(geo);
    let mut ids = Vec::new();
    let mut eligible = 0usize;
    for v in reg.voters.iter_mut() {
        if v.status != INACTIVE || v.changed_at >= cutoff {
            continue;
        }
        eligible += 1;
        let mut r = Rng::keyed(
            seed,
            Stream::Anomaly,
            2000 + iv.index as u64,
            u64::from(v.id),
        );
        if r.chance(LIST_MAINTENANCE_RATE) {
            (v.status, v.reason) = (REMOVED, R_INACTIVITY);
            (v.changed_at, v.changed_by) = (stamp, system);
            ids.push(v.id);
        }
    }
    Planted {
        kind: "list-maintenance",
        benign: true,
        scope: "register",
        scope_value: "all".into(),
        magnitude: LIST_MAINTENANCE_RATE,
        rows: ids,
        details: BTreeMap::from([
            ("eligible_long_inactive".into(), json!(eligible)),
            ("status_reason".into(), json!("inactivity")),
            ("operator".into(), json!("SYSTEM")),
        ]),
    }
}

/// Renumbers every precinct of one district (codes change, addresses do not) and stamps the
/// district's records with the batch. Returns the district and the event.
pub(crate) fn redistrict(
    seed: u64,
    geo: &mut Geography,
    reg: &mut Register,
    iv: Interval,
) -> (u32, Planted) {
    let mut rng = Rng::keyed(seed, Stream::Anomaly, iv.index as u64 + 1, 1001);
    let candidates: Vec<u32> = (0..geo.districts.len() as u32)
        .filter(|&d| geo.districts[d as usize].precincts.len() >= 2)
        .collect();
    let d = if candidates.is_empty() {
        0
    } else {
        *rng.pick(&candidates)
    };
    let district = &geo.districts[d as usize];
    let precincts = district.precincts.clone();
    let order = rng.sample(&(0..precincts.len()).collect::<Vec<_>>(), precincts.len());
    let mut codes = BTreeMap::new();
    for (k, &p) in precincts.iter().enumerate() {
        let new = format!("{}-{:02}", district.code, 51 + order[k]);
        let old = std::mem::replace(&mut geo.precincts[p as usize].code, new.clone());
        codes.insert(old, Value::from(new));
    }
    let day = working_day_in(&mut rng, iv.from + 10, iv.last_edit.min(iv.from + 60));
    let stamp = to_seconds(Stamp {
        day,
        second: BATCH_SECOND,
    });
    let system = system_operator(geo);
    let mut ids = Vec::new();
    for v in reg.voters.iter_mut() {
        if v.status != REMOVED && geo.district_of_street(v.street) == d {
            (v.changed_at, v.changed_by) = (stamp, system);
            ids.push(v.id);
        }
    }
    let planted = Planted {
        kind: "redistricting",
        benign: true,
        scope: "district",
        scope_value: geo.districts[d as usize].code.clone(),
        magnitude: 1.0,
        rows: ids,
        details: BTreeMap::from([
            (
                "precinct_codes".into(),
                Value::Object(codes.into_iter().collect()),
            ),
            ("operator".into(), json!("SYSTEM")),
        ]),
    };
    (d, planted)
}
