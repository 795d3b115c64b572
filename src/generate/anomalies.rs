//! Planting the anomalies of [`AnomalyKind`] into the register, and recording each one in the
//! ground truth.
//!
//! Each planter picks its scope (a precinct, a district, an address, an operator) among areas
//! not yet used by another planter in the same interval, changes only records untouched by
//! routine churn in the interval, and stamps its edits the way the real irregularity would
//! look: one operator, a few days, office hours (or the middle of the night for the night
//! burst). Every record it touches is listed in the event's `voter_ids`.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde_json::{json, Value};

use crate::dates::IsoDate;

use super::calendar::Calendar;
use super::churn::Interval;
use super::geography::Geography;
use super::kinds::AnomalyKind;
use super::population::{
    add_years, draw_address, Address, PersonFactory, Register, Voter, ACTIVE, INACTIVE, REMOVED,
    R_DECEASED, R_INACTIVITY, R_MOVED, R_NONE,
};
use super::rng::{Rng, Stream};
use super::time::{night_time, office_time, to_seconds, working_day_in, Stamp};
use super::truth::{voter_id, Event};

/// Calendar days the quiet form of the targeted purge is spread over: a week and a half, as
/// in the purge the incident work met on an independent series (about 100 removals by two
/// clerks).
pub(crate) const QUIET_PURGE_DAYS: i32 = 11;

/// Where and when a planter works: an interval, or the first snapshot (`iv == None`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    pub iv: Option<Interval>,
    /// The date of the snapshot the planted records first appear in.
    pub to: i32,
}

impl Window {
    /// First and last day ordinary planted edits may carry.
    pub(crate) fn days(&self) -> (i32, i32) {
        match self.iv {
            Some(iv) => (iv.from + 1, iv.last_edit),
            None => (self.to - 60, self.to - 1),
        }
    }

    pub(super) fn registration_days(&self) -> (i32, i32) {
        match self.iv {
            Some(iv) => (iv.from + 1, iv.last_registration),
            None => (self.to - 60, self.to - 1),
        }
    }

    /// Whether a record was left alone by everything earlier in this window.
    pub(crate) fn untouched(&self, v: &Voter) -> bool {
        match self.iv {
            Some(iv) => v.changed_at < iv.start_seconds(),
            None => true,
        }
    }
}

/// Everything a planter needs.
pub(crate) struct Planter<'a> {
    pub seed: u64,
    pub reg: &'a mut Register,
    pub geo: &'a Geography,
    pub factory: &'a PersonFactory<'a>,
    pub cal: &'a Calendar,
    pub window: Window,
    /// Districts already used by a planter or a mass event in this window.
    pub used_districts: Vec<u32>,
    pub events: &'a mut Vec<Event>,
}

/// A planted event before its id is assigned.
pub(crate) struct Planted {
    pub kind: &'static str,
    pub benign: bool,
    pub scope: &'static str,
    pub scope_value: String,
    pub magnitude: f64,
    pub rows: Vec<u32>,
    pub details: BTreeMap<String, Value>,
}

pub(super) fn living(v: &Voter) -> bool {
    v.status == ACTIVE || v.status == INACTIVE
}

impl Planter<'_> {
    pub(super) fn rng(&self, kind: AnomalyKind) -> Rng {
        let window = self.window.iv.map_or(0, |iv| iv.index as u64 + 1);
        Rng::keyed(self.seed, Stream::Anomaly, window, kind as u64)
    }

    /// Records an event; `rows` are voter ids (numbers).
    pub(crate) fn record(&mut self, p: Planted) {
        let from = self.window.iv.map(|iv| IsoDate(iv.from).to_string());
        self.events.push(Event {
            id: String::new(),
            kind: p.kind.to_string(),
            benign: p.benign,
            snapshot_from: from,
            snapshot_to: IsoDate(self.window.to).to_string(),
            scope: p.scope,
            scope_value: p.scope_value,
            magnitude: p.magnitude,
            count: p.rows.len(),
            voter_ids: p.rows.iter().map(|&id| voter_id(id)).collect(),
            details: p.details,
        });
    }

    /// Indexes of records matching `pred` that are untouched in this window.
    pub(super) fn candidates(&self, pred: impl Fn(&Voter) -> bool + Sync) -> Vec<usize> {
        let w = self.window;
        (0..self.reg.voters.len())
            .into_par_iter()
            .filter(|&i| {
                let v = &self.reg.voters[i];
                w.untouched(v) && pred(v)
            })
            .collect()
    }

    /// A precinct outside the used districts, chosen at random among the larger half (by
    /// candidate records), with its candidate records.
    pub(super) fn choose_precinct(
        &mut self,
        rng: &mut Rng,
        pred: impl Fn(&Voter) -> bool + Sync,
    ) -> Option<(u32, Vec<usize>)> {
        let all = self.candidates(pred);
        let mut by_precinct: Vec<Vec<usize>> = vec![Vec::new(); self.geo.precincts.len()];
        for i in all {
            let p = self.geo.precinct_of_street(self.reg.voters[i].street);
            if !self
                .used_districts
                .contains(&self.geo.precincts[p as usize].district)
            {
                by_precinct[p as usize].push(i);
            }
        }
        let mut sizes: Vec<(usize, u32)> = by_precinct
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_empty())
            .map(|(p, v)| (v.len(), p as u32))
            .collect();
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        let half = sizes.len().div_ceil(2).max(1);
        let &(_, p) = rng.pick(sizes.get(..half).filter(|s| !s.is_empty())?);
        self.used_districts
            .push(self.geo.precincts[p as usize].district);
        Some((p, std::mem::take(&mut by_precinct[p as usize])))
    }

    /// A district outside the used ones, with at least 3 precincts if possible.
    pub(super) fn choose_district(&mut self, rng: &mut Rng) -> u32 {
        let free: Vec<u32> = (0..self.geo.districts.len() as u32)
            .filter(|d| !self.used_districts.contains(d))
            .collect();
        let big: Vec<u32> = free
            .iter()
            .copied()
            .filter(|&d| self.geo.districts[d as usize].precincts.len() >= 3)
            .collect();
        let d = match (big.is_empty(), free.is_empty()) {
            (false, _) => *rng.pick(&big),
            (true, false) => *rng.pick(&free),
            (true, true) => rng.below(self.geo.districts.len() as u64) as u32,
        };
        self.used_districts.push(d);
        d
    }

    fn district_of(&self, i: usize) -> u32 {
        self.geo.district_of_street(self.reg.voters[i].street)
    }

    /// Office-hour stamps by one operator over `days` consecutive working days.
    pub(super) fn operator_stamp(&self, rng: &mut Rng, first_day: i32, days: i32) -> Stamp {
        let (_, last) = self.window.days();
        let day = working_day_in(rng, first_day, (first_day + days - 1).min(last));
        office_time(rng, day)
    }

    fn stamp_rows(
        &mut self,
        rows: &[usize],
        rng: &mut Rng,
        operator: u16,
        first_day: i32,
        days: i32,
    ) {
        for &i in rows {
            let s = to_seconds(self.operator_stamp(rng, first_day, days));
            let v = &mut self.reg.voters[i];
            v.changed_at = s;
            v.changed_by = operator;
        }
    }

    pub(super) fn ids(&self, rows: &[usize]) -> Vec<u32> {
        let mut ids: Vec<u32> = rows.iter().map(|&i| self.reg.voters[i].id).collect();
        ids.sort_unstable();
        ids
    }

    pub(super) fn first_day(&self, rng: &mut Rng, span: i32) -> i32 {
        let (lo, hi) = self.window.days();
        working_day_in(rng, lo, (hi - span).max(lo))
    }

    /// The first of `span` days, inside the quiet period when the window reaches it (the
    /// last interval does), and whether it did.
    fn first_day_in_quiet(&self, rng: &mut Rng, span: i32) -> (i32, bool) {
        let (lo, hi) = self.window.days();
        let quiet_lo = self.cal.quiet_start.max(lo);
        if quiet_lo + span - 1 <= hi {
            (working_day_in(rng, quiet_lo, hi - (span - 1)), true)
        } else {
            (self.first_day(rng, span), false)
        }
    }

    fn count_of(fraction: f64, n: usize) -> usize {
        (fraction * n as f64).round() as usize
    }

    /// Removes voters of one precinct as "moved". A fraction is the blunt form: that share of
    /// the precinct in three working days by one clerk. A count is the quiet form the
    /// precinct's background hides better: that many voters over a week and a half
    /// ([`QUIET_PURGE_DAYS`]) by two clerks of the district, inside the quiet period when the
    /// window reaches it (see [`AnomalyKind::TargetedPurge`]).
    pub(crate) fn targeted_purge(&mut self, magnitude: f64) -> Option<Planted> {
        let kind = AnomalyKind::TargetedPurge;
        let mut rng = self.rng(kind);
        let (p, rows) = self.choose_precinct(&mut rng, |v| v.status == ACTIVE)?;
        let quiet_form = magnitude > 1.0;
        let k = if quiet_form {
            (magnitude as usize).min(rows.len())
        } else {
            Self::count_of(magnitude, rows.len())
        };
        let chosen = rng.sample(&rows, k);
        let district = self.geo.precincts[p as usize].district;
        for &i in &chosen {
            let v = &mut self.reg.voters[i];
            (v.status, v.reason) = (REMOVED, R_MOVED);
        }
        let mut operators = vec![self.geo.draw_operator(&mut rng, district)];
        let mut details = BTreeMap::from([
            ("active_before".into(), json!(rows.len())),
            ("status_reason".into(), json!("moved")),
        ]);
        if quiet_form {
            let (first, in_quiet) = self.first_day_in_quiet(&mut rng, QUIET_PURGE_DAYS);
            let others: Vec<u16> = self.geo.districts[district as usize]
                .operators
                .iter()
                .copied()
                .filter(|&o| o != operators[0])
                .collect();
            if !others.is_empty() {
                operators.push(*rng.pick(&others));
            }
            // `chosen` is a random sample, so halves are two random shares of the voters.
            let half = chosen.len().div_ceil(operators.len()).max(1);
            for (rows, &op) in chosen.chunks(half).zip(&operators.clone()) {
                self.stamp_rows(rows, &mut rng, op, first, QUIET_PURGE_DAYS);
            }
            details.insert("in_quiet_period".into(), json!(in_quiet));
        } else {
            let first = self.first_day(&mut rng, 3);
            self.stamp_rows(&chosen, &mut rng, operators[0], first, 3);
        }
        let names: Vec<&str> = operators
            .iter()
            .map(|&o| self.geo.operators[o as usize].as_str())
            .collect();
        match names[..] {
            [one] => details.insert("operator".into(), json!(one)),
            _ => details.insert("operators".into(), json!(names)),
        };
        Some(Planted {
            kind: kind.name(),
            benign: false,
            scope: "precinct",
            scope_value: self.geo.precincts[p as usize].code.clone(),
            magnitude,
            rows: self.ids(&chosen),
            details,
        })
    }

    pub(crate) fn skewed_purge(&mut self, magnitude: f64) -> Option<Planted> {
        let kind = AnomalyKind::SkewedPurge;
        let mut rng = self.rng(kind);
        let d = self.choose_district(&mut rng);
        let party = rng.below(2) as u8;
        let geo = self.geo;
        let rows = self.candidates(|v| {
            v.status == ACTIVE && v.party == party && geo.district_of_street(v.street) == d
        });
        let chosen = rng.sample(&rows, Self::count_of(magnitude, rows.len()));
        for &i in &chosen {
            let v = &mut self.reg.voters[i];
            (v.status, v.reason) = (REMOVED, R_INACTIVITY);
        }
        let (first, in_quiet) = self.first_day_in_quiet(&mut rng, 5);
        let operator = self.geo.draw_operator(&mut rng, d);
        self.stamp_rows(&chosen, &mut rng, operator, first, 5);
        Some(Planted {
            kind: kind.name(),
            benign: false,
            scope: "district",
            scope_value: self.geo.districts[d as usize].code.clone(),
            magnitude,
            rows: self.ids(&chosen),
            details: BTreeMap::from([
                (
                    "party".into(),
                    json!(super::geography::PARTIES[party as usize]),
                ),
                ("party_active_before".into(), json!(rows.len())),
                ("in_quiet_period".into(), json!(in_quiet)),
                (
                    "operator".into(),
                    json!(self.geo.operators[operator as usize]),
                ),
            ]),
        })
    }

    pub(crate) fn mass_party_switch(&mut self, magnitude: f64) -> Option<Planted> {
        let kind = AnomalyKind::MassPartySwitch;
        let mut rng = self.rng(kind);
        let d = self.choose_district(&mut rng);
        let party = rng.below(2) as u8;
        let geo = self.geo;
        let rows = self
            .candidates(|v| living(v) && v.party != party && geo.district_of_street(v.street) == d);
        let chosen = rng.sample(&rows, Self::count_of(magnitude, rows.len()));
        for &i in &chosen {
            self.reg.voters[i].party = party;
        }
        let operator = self.geo.draw_operator(&mut rng, d);
        let first = self.first_day(&mut rng, 2);
        self.stamp_rows(&chosen, &mut rng, operator, first, 2);
        Some(Planted {
            kind: kind.name(),
            benign: false,
            scope: "district",
            scope_value: self.geo.districts[d as usize].code.clone(),
            magnitude,
            rows: self.ids(&chosen),
            details: BTreeMap::from([
                (
                    "party".into(),
                    json!(super::geography::PARTIES[party as usize]),
                ),
                ("other_party_voters_before".into(), json!(rows.len())),
                (
                    "operator".into(),
                    json!(self.geo.operators[operator as usize]),
                ),
            ]),
        })
    }

    pub(super) fn address_line(&self, a: Address) -> String {
        let street = &self.geo.streets[a.street as usize].name;
        match a.unit {
            0 => format!("{} {street}", a.house_number),
            u => format!("{} {street} APT {u}", a.house_number),
        }
    }

    pub(super) fn address_of(&self, i: usize) -> Address {
        let v = &self.reg.voters[i];
        Address {
            street: v.street,
            house_number: v.house_number,
            unit: v.unit,
        }
    }

    pub(crate) fn address_redirect(&mut self, magnitude: f64) -> Option<Planted> {
        let kind = AnomalyKind::AddressRedirect;
        let mut rng = self.rng(kind);
        let (p, rows) = self.choose_precinct(&mut rng, living)?;
        let target = self.address_of(*rng.pick(&rows));
        let movable: Vec<usize> = rows
            .iter()
            .copied()
            .filter(|&i| {
                let a = self.address_of(i);
                (a.street, a.house_number, a.unit)
                    != (target.street, target.house_number, target.unit)
            })
            .collect();
        let chosen = rng.sample(&movable, magnitude as usize);
        for &i in &chosen {
            let v = &mut self.reg.voters[i];
            (v.street, v.house_number, v.unit) = (target.street, target.house_number, target.unit);
        }
        let d = self.geo.precincts[p as usize].district;
        let operator = self.geo.draw_operator(&mut rng, d);
        let first = self.first_day(&mut rng, 2);
        self.stamp_rows(&chosen, &mut rng, operator, first, 2);
        Some(Planted {
            kind: kind.name(),
            benign: false,
            scope: "address",
            scope_value: self.address_line(target),
            magnitude,
            rows: self.ids(&chosen),
            details: BTreeMap::from([
                (
                    "precinct".into(),
                    json!(self.geo.precincts[p as usize].code),
                ),
                (
                    "operator".into(),
                    json!(self.geo.operators[operator as usize]),
                ),
            ]),
        })
    }

    pub(crate) fn birth_date_edits(&mut self, magnitude: f64) -> Option<Planted> {
        let kind = AnomalyKind::BirthDateEdits;
        let mut rng = self.rng(kind);
        let d = self.choose_district(&mut rng);
        let geo = self.geo;
        let rows = self.candidates(|v| {
            living(v)
                && v.flags & super::population::F_YEAR_ONLY == 0
                && geo.district_of_street(v.street) == d
        });
        let chosen = rng.sample(&rows, Self::count_of(magnitude, rows.len()));
        let mut shifts = BTreeMap::new();
        for &i in &chosen {
            let years = rng.range_i32(1, 15) * if rng.chance(0.5) { 1 } else { -1 };
            let v = &mut self.reg.voters[i];
            v.birth = add_years(v.birth, years);
            shifts.insert(voter_id(v.id), json!(years));
        }
        let operator = self.geo.draw_operator(&mut rng, d);
        let first = self.first_day(&mut rng, 3);
        self.stamp_rows(&chosen, &mut rng, operator, first, 3);
        Some(Planted {
            kind: kind.name(),
            benign: false,
            scope: "district",
            scope_value: self.geo.districts[d as usize].code.clone(),
            magnitude,
            rows: self.ids(&chosen),
            details: BTreeMap::from([
                (
                    "operator".into(),
                    json!(self.geo.operators[operator as usize]),
                ),
                ("voters_before".into(), json!(rows.len())),
                (
                    "shift_years".into(),
                    Value::Object(shifts.into_iter().collect()),
                ),
            ]),
        })
    }

    /// Edits a record the way the post-freeze and night-burst anomalies do; returns the field.
    fn edit(&mut self, rng: &mut Rng, i: usize) -> &'static str {
        let v = &mut self.reg.voters[i];
        match rng.below(3) {
            0 => {
                v.party = (v.party + 1 + rng.below(2) as u8) % 3;
                "party"
            }
            1 if v.status == ACTIVE => {
                (v.status, v.reason) = (INACTIVE, super::population::R_NO_CONTACT);
                "status"
            }
            _ => {
                let p = self.geo.precinct_of_street(v.street);
                let a = draw_address(self.geo, rng, p);
                (v.street, v.house_number, v.unit) = (a.street, a.house_number, a.unit);
                "address"
            }
        }
    }

    pub(crate) fn post_freeze_edits(&mut self, magnitude: f64) -> Option<Planted> {
        let kind = AnomalyKind::PostFreezeEdits;
        let iv = self.window.iv?;
        let freeze = self.cal.roll_freeze;
        if !(iv.from < freeze && freeze < iv.to) {
            return None;
        }
        let mut rng = self.rng(kind);
        let rows = self.candidates(living);
        let chosen = rng.sample(&rows, magnitude as usize);
        let mut fields = BTreeMap::new();
        for &i in &chosen {
            let field = self.edit(&mut rng, i);
            let day = working_day_in(&mut rng, freeze + 1, iv.to);
            let d = self.district_of(i);
            let operator = self.geo.draw_operator(&mut rng, d);
            let v = &mut self.reg.voters[i];
            v.changed_at = to_seconds(office_time(&mut rng, day));
            v.changed_by = operator;
            fields.insert(voter_id(v.id), json!(field));
        }
        Some(Planted {
            kind: kind.name(),
            benign: false,
            scope: "register",
            scope_value: "all".into(),
            magnitude,
            rows: self.ids(&chosen),
            details: BTreeMap::from([
                ("roll_freeze".into(), json!(IsoDate(freeze).to_string())),
                (
                    "fields_changed".into(),
                    Value::Object(fields.into_iter().collect()),
                ),
            ]),
        })
    }

    pub(crate) fn night_burst(&mut self, magnitude: f64) -> Option<Planted> {
        let kind = AnomalyKind::NightBurst;
        let mut rng = self.rng(kind);
        let d = self.choose_district(&mut rng);
        let geo = self.geo;
        let rows = self.candidates(|v| living(v) && geo.district_of_street(v.street) == d);
        let chosen = rng.sample(&rows, magnitude as usize);
        let operator = self.geo.draw_operator(&mut rng, d);
        let night = self.first_day(&mut rng, 1);
        let mut fields = BTreeMap::new();
        for &i in &chosen {
            let field = self.edit(&mut rng, i);
            let s = to_seconds(night_time(&mut rng, night));
            let v = &mut self.reg.voters[i];
            (v.changed_at, v.changed_by) = (s, operator);
            fields.insert(voter_id(v.id), json!(field));
        }
        Some(Planted {
            kind: kind.name(),
            benign: false,
            scope: "operator",
            scope_value: self.geo.operators[operator as usize].clone(),
            magnitude,
            rows: self.ids(&chosen),
            details: BTreeMap::from([
                ("night".into(), json!(IsoDate(night).to_string())),
                (
                    "district".into(),
                    json!(self.geo.districts[d as usize].code),
                ),
                (
                    "fields_changed".into(),
                    Value::Object(fields.into_iter().collect()),
                ),
            ]),
        })
    }

    pub(crate) fn mass_reactivation(&mut self, magnitude: f64) -> Option<Planted> {
        let kind = AnomalyKind::MassReactivation;
        let mut rng = self.rng(kind);
        let deceased = self.candidates(|v| v.status == REMOVED && v.reason == R_DECEASED);
        let others = self.candidates(|v| v.status == REMOVED && v.reason != R_DECEASED);
        let k = magnitude as usize;
        let mut chosen = rng.sample(&deceased, k);
        chosen.extend(rng.sample(&others, k - chosen.len()));
        let mut reasons = BTreeMap::new();
        for &i in &chosen {
            let v = &mut self.reg.voters[i];
            reasons.insert(
                voter_id(v.id),
                json!(super::population::REASONS[v.reason as usize]),
            );
            (v.status, v.reason) = (ACTIVE, R_NONE);
        }
        let d = self.choose_district(&mut rng);
        let operator = self.geo.draw_operator(&mut rng, d);
        let first = self.first_day(&mut rng, 2);
        self.stamp_rows(&chosen, &mut rng, operator, first, 2);
        Some(Planted {
            kind: kind.name(),
            benign: false,
            scope: "operator",
            scope_value: self.geo.operators[operator as usize].clone(),
            magnitude,
            rows: self.ids(&chosen),
            details: BTreeMap::from([(
                "previous_status_reason".into(),
                Value::Object(reasons.into_iter().collect()),
            )]),
        })
    }
}
